// Activations quantized in blocks of 32, once per matmul call, so the
// quantized-weight kernels can use integer dot products: int8 (maddubs / VNNI,
// as llama.cpp) or 16-bit (madd: a 129 times finer step, for the fast exact mode).
// Internal to kernels/ (and its tests).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

// The 32 quants of one block: one aligned 32-byte load, or two for 16 bits.
// Element j is q[slot(j)].
struct alignas(32) BlockQuantsQ8 {
  static constexpr int kMax = 127;
  static constexpr int slot(int j) { return j; }
  int8_t q[32];
};
// 15 bits of magnitude, not 16: the dot product of a 32-element block with
// the widest weights (q6_K's (q − 32)·sub-scale, up to 4096 in magnitude)
// then stays below 2^31 (32·4096·16383 < 2^31 − 1).
// The even elements first, then the odd ones: the 16-bit words of a weight
// block's 32 bytes (in element order) hold element 2k in their low byte and
// 2k + 1 in their high byte, so one mask and one shift widen the weights
// into this order, where widening them in element order takes cross-lane
// shuffles (docs/kernels.md).
struct alignas(64) BlockQuantsQ16 {
  static constexpr int kMax = 16383;
  static constexpr int slot(int j) { return (j % 2) * 16 + j / 2; }
  int16_t q[32];
};

// Blocks side by side, each field an array of its own: a kernel loads the
// scales (or sums) of 8 consecutive blocks as one vector. Block i of the
// activations is qs[i], d[i], sum[i], d_sum[i] (x ≈ d·qs).
template <class Quants>
struct QuantizedActivations {
  const Quants* qs;
  const float* d;        // scale
  const int32_t* sum;    // sum of qs: what a weight block's integer offset multiplies
  const float* d_sum;    // d * sum, as f32: what a weight block's min multiplies

  QuantizedActivations from_block(int64_t i) const { return {qs + i, d + i, sum + i, d_sum + i}; }
};
using ActivationsQ8 = QuantizedActivations<BlockQuantsQ8>;
using ActivationsQ16 = QuantizedActivations<BlockQuantsQ16>;

// Storage for n blocks.
template <class Quants>
class QuantizedActivationsBuffer {
 public:
  void resize(int64_t n_blocks) {
    const auto n = static_cast<size_t>(n_blocks);
    qs_.resize(n), d_.resize(n), sum_.resize(n), d_sum_.resize(n);
  }
  QuantizedActivations<Quants> view() const { return {qs_.data(), d_.data(), sum_.data(), d_sum_.data()}; }
  // Block i's fields, to write.
  Quants* qs(int64_t i) { return &qs_[static_cast<size_t>(i)]; }
  float* d(int64_t i) { return &d_[static_cast<size_t>(i)]; }
  int32_t* sum(int64_t i) { return &sum_[static_cast<size_t>(i)]; }
  float* d_sum(int64_t i) { return &d_sum_[static_cast<size_t>(i)]; }

 private:
  std::vector<Quants> qs_;
  std::vector<float> d_;
  std::vector<int32_t> sum_;
  std::vector<float> d_sum_;
};
using ActivationsQ8Buffer = QuantizedActivationsBuffer<BlockQuantsQ8>;
using ActivationsQ16Buffer = QuantizedActivationsBuffer<BlockQuantsQ16>;

// Eight tokens' activations side by side, for the kernels that take a batch
// 8 tokens at a time (one weight block then serves 8 tokens from registers,
// with no per-token sums across lanes). Block b of a group holds, for each
// 4-byte chunk c of a block's quants (4 int8 or 2 int16 elements), the 8
// tokens' chunks in one 32-byte row (q[c][4·t ..] = token t's chunk c), and
// the tokens' fields as 8 consecutive values (d[8·b + t], ...).
template <class Quants>
struct alignas(32) BlockQuantsX8 {
  static constexpr int kChunks = static_cast<int>(sizeof(Quants::q)) / 4;  // 8 (int8) or 16 (int16)
  uint8_t q[kChunks][32];
};
template <class Quants>
struct ActivationsX8 {
  const BlockQuantsX8<Quants>* qs;
  const float* d;
  const int32_t* sum;
  const float* d_sum;
  // Σ of each block's elements 0-15 (int8 only; null for 16-bit): q6_K's
  // sub-scales change every 16 elements, and the AVX-512 tile, which takes
  // its quants unsigned (q + 32), takes 32·Σx off each half.
  const int32_t* sum_lo;

  // Group g of a buffer whose groups have n_blocks blocks each.
  ActivationsX8 group(int64_t g, int64_t n_blocks) const {
    const int64_t f = 8 * g * n_blocks;
    return {qs + g * n_blocks, d + f, sum + f, d_sum + f, sum_lo ? sum_lo + f : nullptr};
  }
};
using ActivationsQ8x8 = ActivationsX8<BlockQuantsQ8>;
using ActivationsQ16x8 = ActivationsX8<BlockQuantsQ16>;

template <class Quants>
class ActivationsX8Buffer {
 public:
  void resize(int64_t n_groups, int64_t n_blocks) {
    const auto n = static_cast<size_t>(n_groups * n_blocks);
    qs_.resize(n), d_.resize(8 * n), sum_.resize(8 * n), d_sum_.resize(8 * n);
    if constexpr (std::is_same_v<Quants, BlockQuantsQ8>) sum_lo_.resize(8 * n);
  }
  ActivationsX8<Quants> view() const {
    return {qs_.data(), d_.data(), sum_.data(), d_sum_.data(), sum_lo_.empty() ? nullptr : sum_lo_.data()};
  }
  // Tokens 8g .. 8g+7 of x (n_blocks blocks each) into group g: the same bytes and fields.
  void interleave(const QuantizedActivations<Quants>& x, int64_t n_blocks, int64_t g);

 private:
  std::vector<BlockQuantsX8<Quants>> qs_;
  std::vector<float> d_;
  std::vector<int32_t> sum_;
  std::vector<float> d_sum_;
  std::vector<int32_t> sum_lo_;
};
using ActivationsQ8x8Buffer = ActivationsX8Buffer<BlockQuantsQ8>;
using ActivationsQ16x8Buffer = ActivationsX8Buffer<BlockQuantsQ16>;

// Quantizes x[0..n) into blocks first_block .. first_block + n/32 - 1 of y.
// n must be a multiple of 32. Scale amax/kMax, round half away from zero (as
// q8_0), but the scale is kept in f32; a block whose scale would be
// subnormal quantizes to zeros. Every path gives the same bytes.
void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ8Buffer& y,
                             int64_t first_block);
void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ16Buffer& y,
                             int64_t first_block);

}  // namespace chorus::kernels
