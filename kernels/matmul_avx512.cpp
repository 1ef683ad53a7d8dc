// AVX-512 matmul kernels: 512-bit FMA tiles for f32/f16/bf16 weights (masked
// loads for the tails), and the shared int8-activation tiles compiled with
// AVX-512 (32 vector registers; VNNI vpdpbusd for the dot products of the
// 32-element block types).
//
// Everything this file includes is included before the target pragma, so no
// inline function of a shared header is compiled here with AVX-512 (the
// linker could otherwise pick that copy for callers on the baseline ISA).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"

// clang (the fuzz build) ignores GCC's target pragma: it takes an attribute push instead.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16")
#endif
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as the unused merge
// source, which its own (maybe-)uninitialized analysis then reports.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/matmul_x86_tiles.h"

namespace chorus::kernels {

namespace {

// vpdpbusd sums four u8×s8 products per i32 lane: the same 8 lanes' total as
// maddubs+madd, in one instruction. Pair weights other than 1 (the k-quant
// sub-scales) keep maddubs+madd.
struct DotVnni {
  template <bool kUnitPairWeights>
  static __m256i dot(__m256i q_unsigned, __m256i x, __m256i pair_weights) {
    if constexpr (kUnitPairWeights) return _mm256_dpbusd_epi32(_mm256_setzero_si256(), q_unsigned, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q_unsigned, x), pair_weights);
  }
};

// ---- float weights: 16 lanes at a time; the tail through a lane mask ----------

struct Load512F32 {
  using Elem = float;
  static __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct Load512F16 {
  using Elem = uint16_t;
  static __m512 load(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct Load512BF16 {
  using Elem = uint16_t;
  static __m512 load(const uint16_t* p, __mmask16 m) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
};

template <class L, int R, int T>
void float_tile512(const typename L::Elem* const* w, const float* const* x, int64_t n, float* y, int64_t y_stride) {
  __m512 acc[R][T];
  // Every loop over r and t is unrolled, so the accumulators stay in registers.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 xv[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x[t] + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 wv = L::load(w[r] + i, m);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t)
      y[t * y_stride + r] = hsum(_mm256_add_ps(_mm512_castps512_ps256(acc[r][t]), _mm512_extractf32x8_ps(acc[r][t], 1)));
}

template <class L>
void rows_float512(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Elem = typename L::Elem;
  const auto* base = static_cast<const Elem*>(a.w.data);
  const int64_t cols = a.w.cols, stride = a.w.rows;
  auto row_ptr = [&](int64_t o) { return base + o * cols; };
  auto tile = [&]<int R, int T>(const Elem* const* rows, int64_t t, float* y) {
    const float* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x + (t + k) * cols;
    float_tile512<L, R, T>(rows, xs, cols, y, stride);
  };
  // Decode (one token) needs several rows in flight to hide the FMA latency.
  if (a.n_tokens == 1)
    for_each_tile<4>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
  else
    for_each_tile<2>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
}

}  // namespace

MatmulRowsFn matmul_rows_avx512(GgmlType type, ActivationPrecision activations) {
  switch (type) {
    case GgmlType::F32: return rows_float512<Load512F32>;
    case GgmlType::F16: return rows_float512<Load512F16>;
    case GgmlType::BF16: return rows_float512<Load512BF16>;
    default: break;
  }
  if (!takes_integer_activations(type)) return nullptr;  // the AVX2 kernel serves
  switch (activations) {
    case ActivationPrecision::kInt8: return integer_rows<Int8Dots<DotVnni>>(type);
    case ActivationPrecision::kF32: return f32_activation_rows(type);
    // vpdpwssd would do the 16-bit products in one instruction, but no machine
    // here runs it to test it: the AVX2 kernel serves.
    case ActivationPrecision::kInt16: break;
  }
  return nullptr;
}

}  // namespace chorus::kernels

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
