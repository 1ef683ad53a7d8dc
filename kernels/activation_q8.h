// Activations quantized to int8 in blocks of 32, once per matmul call, so the
// quantized-weight kernels can use integer dot products (maddubs / VNNI).
// Internal to kernels/ (and its tests).
#pragma once

#include <cstdint>

namespace chorus::kernels {

struct ActivationBlockQ8 {
  float d;       // scale: x ≈ d * qs
  int32_t sum;   // sum of qs: what a weight block's integer offset multiplies
  float d_sum;   // d * sum, as f32: what a weight block's min multiplies
  int8_t qs[32];
};
static_assert(sizeof(ActivationBlockQ8) == 44);

// n must be a multiple of 32. Scale amax/127, round half away from zero (as
// q8_0), but the scale is kept in f32; a block whose scale would be
// subnormal quantizes to zeros. Every path gives the same bytes.
void quantize_activation_row(const float* x, ActivationBlockQ8* y, int64_t n);

}  // namespace chorus::kernels
