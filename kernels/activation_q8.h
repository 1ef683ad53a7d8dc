// Activations quantized to int8 in blocks of 32, once per matmul call, so the
// quantized-weight kernels can use integer dot products (maddubs / VNNI).
// Internal to kernels/ (and its tests).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

// The 32 quants of one block: one aligned 32-byte load.
struct alignas(32) BlockQuantsQ8 {
  int8_t q[32];
};

// Blocks side by side, each field an array of its own: a kernel loads the
// scales (or sums) of 8 consecutive blocks as one vector. Block i of the
// activations is qs[i], d[i], sum[i], d_sum[i] (x ≈ d·qs).
struct ActivationsQ8 {
  const BlockQuantsQ8* qs;
  const float* d;        // scale
  const int32_t* sum;    // sum of qs: what a weight block's integer offset multiplies
  const float* d_sum;    // d * sum, as f32: what a weight block's min multiplies

  ActivationsQ8 from_block(int64_t i) const { return {qs + i, d + i, sum + i, d_sum + i}; }
};

// Storage for n blocks.
class ActivationsQ8Buffer {
 public:
  void resize(int64_t n_blocks);
  ActivationsQ8 view() const { return {qs_.data(), d_.data(), sum_.data(), d_sum_.data()}; }

 private:
  friend void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ8Buffer& y,
                                      int64_t first_block);
  std::vector<BlockQuantsQ8> qs_;
  std::vector<float> d_;
  std::vector<int32_t> sum_;
  std::vector<float> d_sum_;
};

// Quantizes x[0..n) into blocks first_block .. first_block + n/32 - 1 of y.
// n must be a multiple of 32. Scale amax/127, round half away from zero (as
// q8_0), but the scale is kept in f32; a block whose scale would be
// subnormal quantizes to zeros. Every path gives the same bytes.
void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ8Buffer& y,
                             int64_t first_block);

}  // namespace chorus::kernels
