// The per-path matmul kernels behind kernels::matmul. Internal to kernels/
// (and its tests): each path (scalar reference, AVX2+FMA, AVX-512) offers a
// function computing a range of output rows for every token.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/lane_order_activations.h"
#include "kernels/quantized_activations.h"
#include "kernels/matmul.h"

namespace chorus::kernels {

struct MatmulArgs {
  WeightMatrix w;
  const float* x;                // n_tokens rows of w.cols floats
  // The same, quantized (token t's blocks from t·w.cols/32 on), for a kernel
  // that takes integer activations (takes_integer_activations(w.type) and that
  // precision); else all null.
  ActivationsQ8 xq;
  ActivationsQ16 xq16;
  int64_t n_tokens;
  float* y;                      // n_tokens rows of w.rows floats
  // With xq (xq16), 8 tokens or more and takes_eight_token_groups(): the
  // first n_tokens / 8 groups of 8 tokens again, interleaved (groups of
  // w.cols / 32 blocks); else all null.
  ActivationsQ8x8 xq8x8 = {};
  ActivationsQ16x8 xq16x8 = {};
  // With f32 activations and takes_lane_order_activations(): x again, in the
  // order the SIMD tiles unpack weights, with each block's sums; else null.
  LaneOrderActivations x_lanes = {};

  // xq or xq16, by the quants' type.
  template <class Quants>
  QuantizedActivations<Quants> quantized() const {
    if constexpr (std::is_same_v<Quants, BlockQuantsQ8>) return xq;
    else return xq16;
  }
  // xq8x8 or xq16x8, by the quants' type.
  template <class Quants>
  ActivationsX8<Quants> interleaved() const {
    if constexpr (std::is_same_v<Quants, BlockQuantsQ8>) return xq8x8;
    else return xq16x8;
  }
  void set_interleaved(ActivationsQ8x8 x) { xq8x8 = x; }
  void set_interleaved(ActivationsQ16x8 x) { xq16x8 = x; }
};

// Writes y[t * rows + o] for o in [row_begin, row_end), t < n_tokens.
using MatmulRowsFn = void (*)(const MatmulArgs& args, int64_t row_begin, int64_t row_end);

// Types whose kernels (on every path, the reference included) can take
// integer activations (int8 or 16-bit): their dot products are integer per
// block, scaled per block. With f32 activations they widen the weights instead.
bool takes_integer_activations(GgmlType type);

// Whether the path's integer kernel for the type and precision takes groups
// of 8 tokens at once (MatmulArgs::xq8x8, xq16x8): the SIMD paths for the 4-
// to 6-bit types, and with 16-bit activations q8_0 too. q8_0 with int8 only
// on AVX-512, whose two-row tile takes it unsigned: on AVX2, with one chunk
// per madd (and a sign per chunk), its eight-token tile measured slower than
// the one-token tile (2048², 8 tokens, one core: 64 against 74 GFLOP/s),
// where the others gain 16-30 % (docs/kernels.md).
bool takes_eight_token_groups(KernelPath path, GgmlType type, ActivationPrecision precision);

// Whether the path's f32-activation kernel for the type reads
// MatmulArgs::x_lanes: the SIMD paths for the types of
// takes_integer_activations().
bool takes_lane_order_activations(KernelPath path, GgmlType type);

// Each path's kernel for a weight type and activation precision (which
// matters only for the types of takes_integer_activations()); null when the
// path has none, and the next path down serves.
MatmulRowsFn matmul_rows_scalar(GgmlType type, ActivationPrecision activations);
MatmulRowsFn matmul_rows_avx2(GgmlType type, ActivationPrecision activations);
MatmulRowsFn matmul_rows_avx512(GgmlType type, ActivationPrecision activations);

}  // namespace chorus::kernels
