// Weight-matrix times activations, for every weight type the runtime runs.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/ggml_types.h"
#include "kernels/kernel_config.h"

namespace chorus::kernels {

// `rows` rows of `cols` elements each, row-major in the GGUF layout of `type`
// (each row is row_bytes(type, cols) bytes).
struct WeightMatrix {
  GgmlType type;
  int64_t rows;
  int64_t cols;
  const void* data;
};

// True when matmul accepts weights of this type.
bool matmul_supports(GgmlType type);

// y[t * w.rows + o] = sum_i W[o][i] * x[t * w.cols + i] for t < n_tokens, on
// config's path (which the CPU must run) and with its activation precision.
// Splits the output rows over the OpenMP threads.
void matmul(const KernelConfig& config, const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// One product of several that share their input: *w times x into y.
struct MatmulOutput {
  const WeightMatrix* w;
  float* y;
};
// matmul of each output's matrix with the same x (a layer's q, k and v; its
// gate and up), all in one parallel region: the input is quantized once for
// all, and the threads meet at one barrier, not one per matrix. Every matrix
// must have the same cols. Each y is as matmul's.
void matmul_shared_input(const KernelConfig& config, std::span<const MatmulOutput> outs, const float* x,
                         int64_t n_tokens);

}  // namespace chorus::kernels
