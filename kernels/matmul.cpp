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
#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"
#include "kernels/ops.h"

namespace chorus::kernels {

namespace {

// From this many tokens on, f32 weights go to sgemm (docs/kernels.md).
constexpr int64_t kSgemmMinTokens = 8;
// Below this many multiply-adds a call runs on one thread: waking the team
// costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;

// The path's kernel, or the next path down's when the path has none for the type.
MatmulRowsFn rows_fn(KernelPath path, GgmlType type) {
  MatmulRowsFn fn = nullptr;
  if (path == KernelPath::kAvx512) fn = matmul_rows_avx512(type);
  if (!fn && path != KernelPath::kScalar) fn = matmul_rows_avx2(type);
  if (!fn) fn = matmul_rows_scalar(type);
  return fn;
}

void sgemm(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  // OpenBLAS runs its own threads: as many as ours, while ours wait.
  openblas_set_num_threads(omp_get_max_threads());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_tokens), static_cast<int>(w.rows),
              static_cast<int>(w.cols), 1.0f, x, static_cast<int>(w.cols), static_cast<const float*>(w.data),
              static_cast<int>(w.cols), 0.0f, y, static_cast<int>(w.rows));
}

// The f32-activation path for quantized types: each weight row is dequantized
// once into the thread's scratch and dotted with every token.
void matmul_rows_dequantized(const MatmulArgs& a, int64_t begin, int64_t end) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(a.w.cols));
  const size_t rb = row_bytes(a.w.type, a.w.cols);
  for (int64_t o = begin; o < end; ++o) {
    dequantize_row(a.w.type, static_cast<const uint8_t*>(a.w.data) + o * rb, row.data(), a.w.cols);
    for (int64_t t = 0; t < a.n_tokens; ++t) a.y[t * a.w.rows + o] = dot_f32(row.data(), a.x + t * a.w.cols, a.w.cols);
  }
}

ActivationPrecision precision_from_env() {
  const char* v = std::getenv("CHORUS_ACTIVATIONS");
  return v && std::string_view(v) == "f32" ? ActivationPrecision::kF32 : ActivationPrecision::kInt8;
}

std::atomic<ActivationPrecision> g_precision{precision_from_env()};

}  // namespace

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
  // Scratch of the calling thread; the team only reads it.
  thread_local std::vector<ActivationBlockQ8> xq;
  const bool int8 = uses_q8_activations(w.type) && activation_precision() == ActivationPrecision::kInt8;
  if (int8) {
    const int64_t nb = w.cols / 32;
    xq.resize(static_cast<size_t>(n_tokens * nb));
    for (int64_t t = 0; t < n_tokens; ++t) quantize_activation_row(x + t * w.cols, xq.data() + t * nb, w.cols);
    args.xq = xq.data();
  }
  const MatmulRowsFn fn =
      uses_q8_activations(w.type) && !int8 ? matmul_rows_dequantized : rows_fn(path, w.type);
  const bool parallel = w.rows * w.cols * n_tokens >= kParallelMinWork;
#pragma omp parallel if (parallel)
  {
    // Contiguous row ranges, in multiples of 4 so the tiles stay whole.
    const int64_t n_threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t per_thread = (w.rows + n_threads - 1) / n_threads;
    const int64_t chunk = (per_thread + 3) / 4 * 4;
    const int64_t begin = std::min(w.rows, id * chunk), end = std::min(w.rows, begin + chunk);
    if (begin < end) fn(args, begin, end);
  }
}

}  // namespace chorus::kernels
