#include "tools/runtime_flags.h"

#include <omp.h>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"

namespace chorus::cli {

void add_runtime_flags(CLI::App* cmd, RuntimeFlags& f) {
  cmd->add_option("--threads", f.threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--kernel-path", f.kernel_path,
                  "Force the SIMD path: avx512, avx2 or scalar (default: the best this CPU runs; env CHORUS_KERNEL_PATH)")
      ->check(CLI::IsMember({"avx512", "avx2", "scalar"}));
  cmd->add_option("--activations", f.activations,
                  "How activations meet quantized weights: f32 (exact, default) or int8 (faster integer dot products; "
                  "env CHORUS_ACTIVATIONS)")
      ->check(CLI::IsMember({"f32", "int8"}));
}

void apply_runtime_flags(const RuntimeFlags& f) {
  if (f.threads > 0) omp_set_num_threads(f.threads);
  if (!f.kernel_path.empty()) {
    const auto path = kernels::parse_kernel_path(f.kernel_path);
    if (!path || !kernels::set_kernel_path(*path))
      throw Error(ErrorCode::kUnsupported, fmt::format("--kernel-path {}: this CPU cannot run it", f.kernel_path));
  }
  if (!f.activations.empty()) kernels::set_activation_precision(*kernels::parse_activation_precision(f.activations));
}

}  // namespace chorus::cli
