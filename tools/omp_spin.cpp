#include "tools/omp_spin.h"

#include <unistd.h>

#include <cstdlib>

namespace chorus::cli {

namespace {
// Measured on the 2-core machine with the other core busy, llama-110m decode
// (tok/s): default 1.6, 10000 spins 13.7, 100 spins 78-86, passive 83. Since
// matmul hands out guided runs (seventh round, docs/kernels.md), 300 spins
// decode int16 at B = 1 quiet: SmolLM2 134-135 (100 spins: 93-107), Qwen 0.5B
// 42-48 (39-40), llama-110m 169-186 (135-164); with the other core busy
// SmolLM2 63-64 (67-68), Qwen 0.5B 23-25 (24).
constexpr const char* kChorusSpinCount = "300";
}  // namespace

void bound_omp_spinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", kChorusSpinCount, 1);
  execv("/proc/self/exe", argv);  // returns only on failure: run on with the defaults
  unsetenv("GOMP_SPINCOUNT");
}

}  // namespace chorus::cli
