// The per-path matmul kernels behind kernels::matmul. Internal to kernels/
// (and its tests): each path (scalar reference, AVX2+FMA, AVX-512) offers a
// function computing a range of output rows for every token.
#pragma once

#include <cstdint>

#include "kernels/activation_q8.h"
#include "kernels/matmul.h"

namespace chorus::kernels {

struct MatmulArgs {
  WeightMatrix w;
  const float* x;                // n_tokens rows of w.cols floats
  ActivationsQ8 xq;              // the same, quantized (token t's blocks from t·w.cols/32 on), when
                                 // uses_q8_activations(w.type); else all null
  int64_t n_tokens;
  float* y;                      // n_tokens rows of w.rows floats
};

// Writes y[t * rows + o] for o in [row_begin, row_end), t < n_tokens.
using MatmulRowsFn = void (*)(const MatmulArgs& args, int64_t row_begin, int64_t row_end);

// Types whose kernels (on every path, the reference included) take int8
// activations: their dot products are integer per block, scaled per block.
bool uses_q8_activations(GgmlType type);

// Each returns null when its path has no kernel for the type. The
// f32_activations variants serve the types of uses_q8_activations() when the
// activations stay f32 (ActivationPrecision::kF32).
MatmulRowsFn matmul_rows_scalar(GgmlType type);
MatmulRowsFn matmul_rows_avx2(GgmlType type);
MatmulRowsFn matmul_rows_avx512(GgmlType type);
MatmulRowsFn matmul_rows_f32_activations_scalar(GgmlType type);
MatmulRowsFn matmul_rows_f32_activations_avx2(GgmlType type);
MatmulRowsFn matmul_rows_f32_activations_avx512(GgmlType type);

}  // namespace chorus::kernels
