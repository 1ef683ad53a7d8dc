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
#include <bit>
#include <cstring>
#include <type_traits>
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
// sub-scales) keep maddubs+madd. The 256-bit eight-token tile is DotMaddubs'
// (the two-row tile below takes every pair of rows; it serves a run's last
// odd row).
struct DotVnni : DotMaddubs {
  template <bool kUnitPairWeights>
  static __m256i dot(__m256i q_unsigned, __m256i x, __m256i pair_weights) {
    if constexpr (kUnitPairWeights) return _mm256_dpbusd_epi32(_mm256_setzero_si256(), q_unsigned, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q_unsigned, x), pair_weights);
  }
};

struct MaddAddVnni {
  static __m256i madd_add(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
};

// ---- two rows at once: the eight-token tiles in 512-bit vectors ---------------
//
// Each vector's low half is row o's 8 tokens, its high half row o + 1's. Per
// 4-byte chunk of a sub-block one permute puts each row's chunk of weights in
// its half, and one VNNI instruction multiplies it with the 8 tokens' chunk,
// loaded into both halves by a broadcast load (a load-port uop): where the
// 256-bit tile spends two shuffles a chunk on the vector ports, this spends
// one for two rows.
//
// Each lane's integer dot product and f32 operations are eight_token_tile's
// for that row and token, in its order (accumulator k of a group of 8
// sub-blocks; the end sums them in hsum's order), so it is bit for bit that
// tile's result, and integer_tile's (batch invariance).

__m512 two_rows(__m256 r0, __m256 r1) { return _mm512_insertf32x8(_mm512_castps256_ps512(r0), r1, 1); }
__m512i two_rows(__m256i r0, __m256i r1) { return _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1); }
// The same i16 value in every word of r0 (and of r1): as i32, r0's in the low half, r1's in the high.
__m512i two_rows_word(__m256i r0, __m256i r1) {
  return _mm512_cvtepi16_epi32(_mm256_inserti128_si256(r0, _mm256_castsi256_si128(r1), 1));
}
// vpermd's indices for lane k of each half in every lane of that half.
__m512i lane_k(int k) {
  return _mm512_set_epi32(8 + k, 8 + k, 8 + k, 8 + k, 8 + k, 8 + k, 8 + k, 8 + k, k, k, k, k, k, k, k, k);
}
// The 8 tokens' values of a per-block field (sum, sum_lo) for block b, in both halves.
__m512i tokens_fields(const int32_t* field, int64_t b) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(field + 8 * b)));
}
// Group g's 8 tokens' chunk c of block b in both halves.
template <class Quants>
__m512i tokens_chunk(const ActivationsX8<Quants>* x, int g, int64_t b, int c) {
  return _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(x[g].qs[b].q[c])));
}

// int8: vpdpbusd, the sub-scales multiplied in after. No 512-bit vpsignb
// exists, so the signed types go in unsigned: q8_0 as q + 128, whose Σ u·x
// less 128·Σx (the block sums the activations carry) is Σ q·x — the tile
// takes that off as it takes off q4_0's offset (kCodeOffset); q6_K as its
// 6-bit codes u = q + 32, with each half's 32·Σx (from the sums of elements
// 0-15 the activations carry, sum_lo) taken off here, as each half has its
// own sub-scale.
struct TwoRowInt8 {
  using Quants = BlockQuantsQ8;
  // What the codes the dots multiply add to the quants, for the tile to take off.
  template <class Q>
  static constexpr int kCodeOffset = std::is_same_v<Q, Q8_0> ? 128 : 0;
  template <class Q, int G>
  static void dots(const SubBlock& q0, const SubBlock& q1, const ActivationsQ8x8* x, int64_t b, __m512i* dot) {
    constexpr bool kQ6 = std::is_same_v<Q, Q6_K>;
    __m512i q = two_rows(q0.q, q1.q);
    if constexpr (kQ6) q = _mm512_add_epi8(q, _mm512_set1_epi8(32));
    if constexpr (kCodeOffset<Q> == 128) q = _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));
    // lo: chunks 0-3 (elements 0-15), hi: 4-7.
    __m512i lo[G], hi[G];
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) lo[g] = hi[g] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m512i qc = _mm512_permutexvar_epi32(lane_k(c), q);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        __m512i& sum = (c < 4 ? lo : hi)[g];
        sum = _mm512_dpbusd_epi32(sum, qc, tokens_chunk(x, g, b, c));
      }
    }
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) {
      if constexpr (Q::kUnitPairWeights) {
        dot[g] = _mm512_add_epi32(lo[g], hi[g]);
      } else if constexpr (kQ6) {  // a sub-scale per 16 elements
        const __m512i sum = tokens_fields(x[g].sum, b), sum_lo = tokens_fields(x[g].sum_lo, b);
        const __m512i lo32 = _mm512_slli_epi32(sum_lo, 5), hi32 = _mm512_slli_epi32(_mm512_sub_epi32(sum, sum_lo), 5);
        dot[g] = _mm512_add_epi32(
            _mm512_mullo_epi32(_mm512_sub_epi32(lo[g], lo32), two_rows_word(q0.scale_lo, q1.scale_lo)),
            _mm512_mullo_epi32(_mm512_sub_epi32(hi[g], hi32), two_rows_word(q0.scale_hi, q1.scale_hi)));
      } else {
        dot[g] = _mm512_mullo_epi32(_mm512_add_epi32(lo[g], hi[g]), two_rows_word(q0.scale_lo, q1.scale_lo));
      }
    }
  }
};

// 16-bit: vpdpwssd on the weights widened as Int16Dots widens them (the
// sub-scales multiplied in). Chunk c (2 elements) is dword c of a row's
// [even | odd] words; one vpermt2d takes it from both rows.
struct TwoRowInt16 {
  using Quants = BlockQuantsQ16;
  template <class Q>
  static constexpr int kCodeOffset = 0;  // the quants as they are
  template <class Q, int G>
  static void dots(const SubBlock& q0, const SubBlock& q1, const ActivationsQ16x8* x, int64_t b, __m512i* dot) {
    using Widen = Int16Dots<MaddAddVnni>;
    const typename Widen::Weights w0 = Widen::prepare<Q, true>(q0), w1 = Widen::prepare<Q, true>(q1);
    const __m512i r0 = two_rows(w0.even, w0.odd), r1 = two_rows(w1.even, w1.odd);
    // Two sums a group, so the vpdpwssd do not all wait on each other.
    __m512i even[G], odd[G];
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) even[g] = odd[g] = _mm512_setzero_si512();
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      // Indices c (of r0) in the low half, 16 + c (of r1) in the high.
      const __m512i from_both = _mm512_add_epi32(lane_k(c), _mm512_set_epi32(8, 8, 8, 8, 8, 8, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0));
      const __m512i wc = _mm512_permutex2var_epi32(r0, from_both, r1);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        __m512i& sum = (c % 2 ? odd : even)[g];
        sum = _mm512_dpwssd_epi32(sum, wc, tokens_chunk(x, g, b, c));
      }
    }
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) dot[g] = _mm512_add_epi32(even[g], odd[g]);
  }
};

// eight_token_tile for rows o and o + 1 (y's columns o and o + 1), by
// TwoRowDots' integer dot products.
template <class Q, class TwoRowDots, int G>
void two_row_eight_token_tile(const typename Q::Block* w0, const typename Q::Block* w1,
                              const ActivationsX8<typename TwoRowDots::Quants>* x, int64_t n_sub, float* y,
                              int64_t y_stride) {
  constexpr int kSub = Q::kBlockElems / 32;
  constexpr int kGroup = 8;
  __m512 acc[G][kGroup];
#pragma GCC unroll 2
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int k = 0; k < kGroup; ++k) acc[g][k] = _mm512_setzero_ps();
  for (int64_t first = 0; first < n_sub; first += kGroup) {
    const int n = sub_blocks_in_group<kSub, kGroup>(n_sub, first);
    typename Q::Scales s0, s1;
    Q::decode(w0[first / kSub], s0);
    Q::decode(w1[first / kSub], s1);
    const __m512 scales = two_rows(group_scales<Q>(w0, s0, first, n), group_scales<Q>(w1, s1, first, n));
    __m512 mins = _mm512_setzero_ps();
    if constexpr (Q::kHasMin) mins = two_rows(group_mins<Q>(w0, s0, first, n), group_mins<Q>(w1, s1, first, n));
#pragma GCC unroll 8
    for (int k = 0; k < kGroup; ++k) {
      if (k >= n) break;
      const int64_t b = first + k, blk = block_of<kSub>(first, k);
      const int sub = k % kSub;
      if (sub == 0) {
        prefetch_next_tile<2>(w0 + blk, n_sub / kSub);
        prefetch_next_tile<2>(w1 + blk, n_sub / kSub);
      }
      SubBlock q0, q1;
      Q::unpack(w0[blk], s0, sub, q0);
      Q::unpack(w1[blk], s1, sub, q1);
      __m512i dot[G];
      TwoRowDots::template dots<Q, G>(q0, q1, x, b, dot);
      const __m512 scale_k = _mm512_permutexvar_ps(lane_k(k), scales);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        // Σ (q + offset)·x = Σ q·x − |offset|·Σx, a power of two: q4_0 −8,
        // q5_0 −16, and q8_0's codes' 128 (the codes are q + 128).
        constexpr int kTakeOff = Q::kOffset != 0 ? -Q::kOffset : TwoRowDots::template kCodeOffset<Q>;
        if constexpr (kTakeOff != 0) {
          static_assert(std::has_single_bit(static_cast<unsigned>(kTakeOff)));
          dot[g] = _mm512_sub_epi32(dot[g], _mm512_slli_epi32(tokens_fields(x[g].sum, b), std::countr_zero(static_cast<unsigned>(kTakeOff))));
        }
        const __m512 scale_xd = _mm512_mul_ps(scale_k, _mm512_broadcast_f32x8(_mm256_loadu_ps(x[g].d + 8 * b)));
        acc[g][k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[g]), scale_xd, acc[g][k]);
        if constexpr (Q::kHasMin)
          acc[g][k] = _mm512_fmadd_ps(_mm512_permutexvar_ps(lane_k(k), mins),
                                      _mm512_broadcast_f32x8(_mm256_loadu_ps(x[g].d_sum + 8 * b)), acc[g][k]);
      }
    }
  }
#pragma GCC unroll 2
  for (int g = 0; g < G; ++g) {
    const __m512* a = acc[g];
    // hsum's order: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
                                     _mm512_add_ps(_mm512_add_ps(a[1], a[5]), _mm512_add_ps(a[3], a[7])));
    alignas(64) float out[16];
    _mm512_store_ps(out, sum);
    for (int t = 0; t < 8; ++t) {
      y[(8 * g + t) * y_stride] = out[t];
      y[(8 * g + t) * y_stride + 1] = out[8 + t];
    }
  }
}

// The AVX-512 path's Dots: the 256-bit ones, plus the two-row tile.
template <class Base, class TwoRowDots>
struct WithTwoRowTile : Base {
  static constexpr bool kTwoRowEightTokenTile = true;
  template <class Q, int G>
  static void two_row_eight_token_tile(const typename Q::Block* w0, const typename Q::Block* w1,
                                       const ActivationsX8<typename Base::Quants>* x, int64_t n_sub, float* y,
                                       int64_t y_stride) {
    kernels::two_row_eight_token_tile<Q, TwoRowDots, G>(w0, w1, x, n_sub, y, y_stride);
  }
};
using Int8DotsAvx512 = WithTwoRowTile<Int8Dots<DotVnni>, TwoRowInt8>;
using Int16DotsAvx512 = WithTwoRowTile<Int16Dots<MaddAddVnni>, TwoRowInt16>;

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
    case ActivationPrecision::kInt8: return integer_rows<Int8DotsAvx512>(type);
    case ActivationPrecision::kF32: return f32_activation_rows(type);
    case ActivationPrecision::kInt16: return integer_rows<Int16DotsAvx512>(type);
  }
  return nullptr;
}

}  // namespace chorus::kernels

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
