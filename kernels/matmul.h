// Weight-matrix times activations, for every weight type the runtime runs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernels/ggml_types.h"

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

// How activations meet quantized weights (q8_0, q4_0, q4_1, ...): kept in f32
// against dequantized weight rows (matches an f32 reference to rounding), or
// quantized to int8 blocks for integer dot products (faster; what llama.cpp
// does, but an activation outlier coarsens its whole block: on SmolLM2-135M it
// moves logits by up to ~2 and can flip a greedy choice). Chosen once from the
// environment (CHORUS_ACTIVATIONS=f32|int8, default f32) unless
// set_activation_precision() is called.
enum class ActivationPrecision { kInt8, kF32 };
ActivationPrecision activation_precision();
// "f32" | "int8" -> the precision; nullopt for anything else.
std::optional<ActivationPrecision> parse_activation_precision(std::string_view name);
void set_activation_precision(ActivationPrecision p);

// y[t * w.rows + o] = sum_i W[o][i] * x[t * w.cols + i] for t < n_tokens.
// Splits the output rows over the OpenMP threads.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// One product of several that share their input: *w times x into y.
struct MatmulOutput {
  const WeightMatrix* w;
  float* y;
};
// matmul of each output's matrix with the same x (a layer's q, k and v; its
// gate and up), all in one parallel region: the input is quantized once for
// all, and the threads meet at one barrier, not one per matrix. Every matrix
// must have the same cols. Each y is as matmul's.
void matmul_shared_input(std::span<const MatmulOutput> outs, const float* x, int64_t n_tokens);

}  // namespace chorus::kernels
