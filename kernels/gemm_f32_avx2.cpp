// The AVX2 GEMM micro-kernel: 6 rows × 16 columns of C in 12 accumulators;
// per k step 2 loads of B, 6 broadcasts of A, 12 FMAs (FMA-bound on Zen 4's
// two 256-bit FMA pipes).
#include <immintrin.h>

#include "kernels/gemm_microkernels.h"

namespace chorus::kernels {

namespace {

constexpr int kMr = 6, kNr = 16;

void kernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 acc[kMr][2];
  // Every loop over the accumulators fully unrolled, so they live in registers.
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
      acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc[i][0]);
    _mm256_storeu_ps(ci + 8, acc[i][1]);
  }
}

}  // namespace

GemmMicroKernel gemm_micro_kernel_avx2() { return {kMr, kNr, kernel_6x16}; }

}  // namespace chorus::kernels
