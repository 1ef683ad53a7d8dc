// chorus's own f32 GEMM for prefill with f32 weights: cache-blocked, with
// both operands packed into micro-panels and a register-tiled micro-kernel
// per path (AVX2 6×16, AVX-512 12×32; the scalar path is a plain triple loop,
// the reference). Not used by matmul, whose row kernels sum each token in one
// order whatever the batch; tested and benchmarked beside OpenBLAS (docs/kernels.md).
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

// y[t * n + o] = sum_i x[t * k + i] * w[o * k + i] for t < m, o < n: m tokens
// of k features times the n rows of a row-major weight matrix. Splits the
// rows over the OpenMP threads, on `path`.
void gemm_f32(KernelPath path, const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y);

}  // namespace chorus::kernels
