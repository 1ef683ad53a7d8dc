// matmul: picks the kernel of the dispatch path, quantizes the activations
// when the kernel wants int8, and splits the output rows over the OpenMP
// threads. Many-token f32 products go to OpenBLAS sgemm.
#include "kernels/matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/matmul_paths.h"

namespace chorus::kernels {

namespace {

// From this many tokens on, f32 weights go to sgemm (docs/kernels.md).
constexpr int64_t kSgemmMinTokens = 8;
// Output rows per unit of work (a multiple of 4, so the tiles stay whole).
constexpr int64_t kRowChunk = 32;
// Below this many multiply-adds a call runs on one thread: waking the team
// costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;
// Up to this many tokens (batched decode) are quantized before the team
// starts: microseconds, where splitting them costs a barrier, and a barrier
// costs a futex call or a wake-up on a VM.
constexpr int64_t kSerialQuantizeMaxTokens = 4;

// The path's kernel, or the next path down's when the path has none for the type.
MatmulRowsFn rows_fn(KernelPath path, GgmlType type, bool f32_activations) {
  MatmulRowsFn fn = nullptr;
  if (path == KernelPath::kAvx512)
    fn = f32_activations ? matmul_rows_f32_activations_avx512(type) : matmul_rows_avx512(type);
  if (!fn && path != KernelPath::kScalar)
    fn = f32_activations ? matmul_rows_f32_activations_avx2(type) : matmul_rows_avx2(type);
  if (!fn) fn = f32_activations ? matmul_rows_f32_activations_scalar(type) : matmul_rows_scalar(type);
  return fn;
}

void sgemm(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  // OpenBLAS runs its own threads: as many as ours, while ours wait.
  openblas_set_num_threads(omp_get_max_threads());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_tokens), static_cast<int>(w.rows),
              static_cast<int>(w.cols), 1.0f, x, static_cast<int>(w.cols), static_cast<const float*>(w.data),
              static_cast<int>(w.cols), 0.0f, y, static_cast<int>(w.rows));
}

ActivationPrecision precision_from_env() {
  const char* v = std::getenv("CHORUS_ACTIVATIONS");
  return v ? parse_activation_precision(v).value_or(ActivationPrecision::kF32) : ActivationPrecision::kF32;
}

std::atomic<ActivationPrecision> g_precision{precision_from_env()};

}  // namespace

std::optional<ActivationPrecision> parse_activation_precision(std::string_view name) {
  if (name == "f32") return ActivationPrecision::kF32;
  if (name == "int8") return ActivationPrecision::kInt8;
  return std::nullopt;
}

ActivationPrecision activation_precision() { return g_precision.load(std::memory_order_relaxed); }
void set_activation_precision(ActivationPrecision p) { g_precision.store(p, std::memory_order_relaxed); }

bool matmul_supports(GgmlType type) { return matmul_rows_scalar(type) != nullptr; }

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  const KernelPath path = kernel_path();
  if (w.type == GgmlType::F32 && n_tokens >= kSgemmMinTokens && path != KernelPath::kScalar) {
    sgemm(w, x, n_tokens, y);
    return;
  }
  MatmulArgs args{w, x, nullptr, n_tokens, y};
  // Scratch of the calling thread (the team reaches it through this pointer,
  // not through the thread_local): filled by the team, then read.
  thread_local std::vector<ActivationBlockQ8> scratch;
  const bool int8 = uses_q8_activations(w.type) && activation_precision() == ActivationPrecision::kInt8;
  const int64_t nb = w.cols / 32;
  ActivationBlockQ8* xq = nullptr;
  if (int8) {
    scratch.resize(static_cast<size_t>(n_tokens * nb));
    xq = scratch.data();
    args.xq = xq;
    if (n_tokens <= kSerialQuantizeMaxTokens)
      for (int64_t t = 0; t < n_tokens; ++t) quantize_activation_row(x + t * w.cols, xq + t * nb, w.cols);
  }
  const MatmulRowsFn fn = rows_fn(path, w.type, uses_q8_activations(w.type) && !int8);
  const int64_t n_chunks = (w.rows + kRowChunk - 1) / kRowChunk;
  const bool parallel = w.rows * w.cols * n_tokens >= kParallelMinWork;
#pragma omp parallel if (parallel)
  {
    if (int8 && n_tokens > kSerialQuantizeMaxTokens) {
#pragma omp for schedule(static)
      for (int64_t t = 0; t < n_tokens; ++t) quantize_activation_row(x + t * w.cols, xq + t * nb, w.cols);
    }
    // Chunks handed out as threads free up: a thread that another process
    // slows down does not hold the others up at the end. No barrier of its
    // own: the region's end is one.
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t c = 0; c < n_chunks; ++c) fn(args, c * kRowChunk, std::min(w.rows, (c + 1) * kRowChunk));
  }
}

}  // namespace chorus::kernels
