// The AVX-512 GEMM micro-kernel: 12 rows × 32 columns of C in 24 of the 32
// zmm registers; per k step 2 loads of B, 12 broadcasts of A, 24 FMAs.
#include <immintrin.h>

#include "kernels/gemm_microkernels.h"

namespace chorus::kernels {

namespace {

constexpr int kMr = 12, kNr = 32;

__attribute__((target("avx512f"))) void kernel_12x32(int64_t kc, const float* a, const float* b, float* c,
                                                      int64_t ldc, bool accumulate) {
  __m512 acc[kMr][2];
  // Every loop over the accumulators fully unrolled, so they live in registers.
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc[i][0]);
    _mm512_storeu_ps(ci + 16, acc[i][1]);
  }
}

}  // namespace

GemmMicroKernel gemm_micro_kernel_avx512() { return {kMr, kNr, kernel_12x32}; }

}  // namespace chorus::kernels
