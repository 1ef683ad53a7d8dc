// The register-tiled micro-kernels behind gemm_f32. Internal to kernels/.
#pragma once

#include <cstdint>

namespace chorus::kernels {

// C[MR×NR] (row stride ldc) = (accumulate ? C : 0) + A·B over kc steps, where
// a holds kc groups of MR floats (one per C row) and b kc groups of NR floats.
using GemmMicroKernelFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                   bool accumulate);

struct GemmMicroKernel {
  int mr, nr;
  GemmMicroKernelFn fn;
};

GemmMicroKernel gemm_micro_kernel_avx2();
GemmMicroKernel gemm_micro_kernel_avx512();

}  // namespace chorus::kernels
