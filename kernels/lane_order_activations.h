// f32 activations rearranged once per matmul call into the order in which the
// SIMD f32-activation tiles unpack a 32-element weight block. Those tiles
// widen the 32 quants of a block to floats with in-lane unpacks (bytes to
// words to dwords, each within a 128-bit lane), which is cheaper than the
// lane-crossing widenings that keep element order; the activations take the
// same order instead, so lane i of every vector still pairs a weight with its
// activation. Internal to kernels/ (and its tests).
#pragma once

#include <cstdint>
#include <vector>

namespace chorus::kernels {

// Within each block of 32, vector g (floats 8g .. 8g+7) holds elements
// 4g .. 4g+3 and 16+4g .. 16+4g+3: the order of `unpack{lo,hi}_epi8` then
// `unpack{lo,hi}_epi16` on 32 bytes in element order.
constexpr int lane_order_element(int i) { return i % 8 < 4 ? 4 * (i / 8) + i % 8 : 16 + 4 * (i / 8) + i % 8 - 4; }

// Block i (token t's block b is i = t·(cols/32) + b): its 32 floats at
// x + 32·i in lane order, and at sums + 8·i the sum of its 4 vectors (lane by
// lane: what a weight block's min multiplies).
struct LaneOrderActivations {
  const float* x = nullptr;
  const float* sums = nullptr;
};

class LaneOrderActivationsBuffer {
 public:
  void resize(int64_t n_blocks);
  // Writes token t's blocks (cols floats from x; cols a multiple of 32).
  void fill_token(const float* x, int64_t cols, int64_t t);
  LaneOrderActivations view() const { return {x_.data(), sums_.data()}; }

 private:
  std::vector<float> x_, sums_;
};

}  // namespace chorus::kernels
