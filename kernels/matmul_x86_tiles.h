


// AVX2 tile kernels shared by the AVX2 and AVX-512 matmul paths. Each of the
// two files includes this header after its own target options are in force,
// so everything here is in an anonymous namespace: each file gets its own
// copy, compiled for its own ISA, and no copy can leak into the other.
// Internal to matmul_avx2.cpp and matmul_avx512.cpp.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/matmul_paths.h"

namespace chorus::kernels {
namespace {  // NOLINT(cert-dcl59-cpp, google-build-namespaces): one copy per ISA, see above

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Inline here: the out-of-line fp16_to_fp32 would cost a call per block.
inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// How many tokens one pass over a range of rows takes: their activations stay
// in L2 while the rows stream through.
constexpr int64_t kTokenChunk = 16;

// A 768-wide q8_0 row is 13 cache lines: too short a stream for the hardware
// prefetcher to ramp up, so each tile began with a DRAM round trip (~70 ns a
// row measured on a 32000x768 matrix, 2.2x slower than with this). The rows
// are contiguous, so each block asks for the same block of the next tile's row.
template <int R, class Block>
void prefetch_next_tile(const Block* p, int64_t blocks_per_row) {
  _mm_prefetch(reinterpret_cast<const char*>(p + R * blocks_per_row), _MM_HINT_T0);
}

// Runs the tile kernel over rows [row_begin, row_end) × tokens [t_begin,
// t_stop): tokens in chunks, rows in groups of R, tokens within a chunk in
// groups of up to 4. `row_ptr(o)` gives row o's data;
// `tile<R, T>(rows, tokens, y + o, y_stride)`.
template <int R, class RowPtr, class Tile>
void for_each_tile(int64_t row_begin, int64_t row_end, int64_t t_begin, int64_t t_stop, int64_t y_stride, float* y,
                   const RowPtr& row_ptr, const Tile& tile) {
  for (int64_t t0 = t_begin; t0 < t_stop; t0 += kTokenChunk) {
    const int64_t t_end = std::min(t_stop, t0 + kTokenChunk);
    auto run = [&]<int RR>(int64_t o) {
      decltype(row_ptr(o)) rows[RR];
      for (int r = 0; r < RR; ++r) rows[r] = row_ptr(o + r);
      int64_t t = t0;
      for (; t + 4 <= t_end; t += 4) tile.template operator()<RR, 4>(rows, t, y + t * y_stride + o);
      switch (t_end - t) {
        case 3: tile.template operator()<RR, 3>(rows, t, y + t * y_stride + o); break;
        case 2: tile.template operator()<RR, 2>(rows, t, y + t * y_stride + o); break;
        case 1: tile.template operator()<RR, 1>(rows, t, y + t * y_stride + o); break;
        default: break;
      }
    };
    int64_t o = row_begin;
    for (; o + R <= row_end; o += R) run.template operator()<R>(o);
    for (; o < row_end; ++o) run.template operator()<1>(o);
  }
}

// ---- int8 activations: q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K --------
//
// The weights are taken 32 elements (one activation block) at a time: their
// quants are unpacked into one register in element order and multiplied with
// the activation's int8 quants by maddubs (u8 × s8 → i16 pairs), then madd
// (i16 pairs × pair weights → i32): the pair weights are 1, or the k-quant
// sub-scales, which keeps the whole sub-block dot product integer and exact.
// maddubs needs its first operand unsigned: 4-, 5- and 6-bit quants are
// (pair sums ≤ 2·63·127, no saturation); signed quants (q8_0, q6_K − 32) go in
// as |w| with the activation taking w's sign.

// The block's scale and min (w = scale · (q·sub_scale + offset) + min) are
// not here: the tile takes 8 blocks' at once (group_scales, group_mins).
struct SubBlock {
  __m256i q;             // 32 quants in element order
  // The integer sub-scales of elements 0-15 and 16-31 (1 but for k-quants),
  // each in all 16 words of a vector.
  __m256i scale_lo, scale_hi;
};

// madd's pair weights for a sub-block: scale_lo in the low half (elements
// 0-15), scale_hi in the high half.
inline __m256i pair_weights(const SubBlock& sb) { return _mm256_blend_epi32(sb.scale_lo, sb.scale_hi, 0xF0); }

// Word w of each 128-bit half of v (whose halves are equal) in all 16
// words, by one in-lane byte shuffle: with w a constant, as in the unrolled
// tiles, the control is a constant too.
inline __m256i word_everywhere(__m256i v, int w) {
  return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * w)));
}

// Low nibbles of qs[0..15], then their high nibbles: the 16 bytes in both
// halves (a broadcast load), the upper half shifted by 4.
__m256i nibbles_in_order(const uint8_t* qs) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 where bit j of the 32-bit qh is set, else 0.
__m256i fifth_bits(const uint8_t* qh_bytes) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i with_others_set = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7FBFDFEFF7FBFDFE));
  const __m256i set = _mm256_cmpeq_epi8(with_others_set, _mm256_set1_epi64x(-1));
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The 4-bit quants of k-quant sub-block s: low nibbles of its 32 qs bytes for
// even s, high nibbles for odd s.
__m256i k_nibbles(const uint8_t* qs, int s) {
  __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (s / 2)));
  if (s % 2) raw = _mm256_srli_epi16(raw, 4);
  return _mm256_and_si256(raw, _mm256_set1_epi8(0x0F));
}

// Each weight type: its block, how to decode its per-block scales once
// (`Scales`, empty for the 32-element types), and how to unpack sub-block s.
// kChunksPerMadd: how many maddubs results of 4-element chunks the 8-token
// tile may add as i16 before madd: each pair sum is at most 2·|q|max·127
// (8 chunks of 4-bit quants: 8·2·15·127 = 30480; 5-bit and q6_K's |q − 32|
// ≤ 32: 4; q8_0: 1), and below 32768.
struct NoScales {};

struct Q8_0 {
  using Block = BlockQ8_0;
  using Scales = NoScales;
  static constexpr bool kUnitPairWeights = true;
  static constexpr int kBlockElems = 32, kOffset = 0;
  static constexpr bool kSigned = true, kHasMin = false;
  static constexpr int kChunksPerMadd = 1;
  static void decode(const Block&, Scales&) {}
  static void unpack(const Block& blk, const Scales&, int, SubBlock& s) {
    s.q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs));
    s.scale_lo = s.scale_hi = _mm256_set1_epi16(1);
  }
};
struct Q4_0 {
  using Block = BlockQ4_0;
  using Scales = NoScales;
  static constexpr bool kUnitPairWeights = true;
  static constexpr int kBlockElems = 32, kOffset = -8;
  static constexpr bool kSigned = false, kHasMin = false;
  static constexpr int kChunksPerMadd = 8;
  static void decode(const Block&, Scales&) {}
  static void unpack(const Block& blk, const Scales&, int, SubBlock& s) {
    s.q = nibbles_in_order(blk.qs);
    s.scale_lo = s.scale_hi = _mm256_set1_epi16(1);
  }
};
struct Q4_1 {
  using Block = BlockQ4_1;
  using Scales = NoScales;
  static constexpr bool kUnitPairWeights = true;
  static constexpr int kBlockElems = 32, kOffset = 0;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kChunksPerMadd = 8;
  static void decode(const Block&, Scales&) {}
  static void unpack(const Block& blk, const Scales&, int, SubBlock& s) {
    s.q = nibbles_in_order(blk.qs);
    s.scale_lo = s.scale_hi = _mm256_set1_epi16(1);
  }
};
struct Q5_0 {
  using Block = BlockQ5_0;
  using Scales = NoScales;
  static constexpr bool kUnitPairWeights = true;
  static constexpr int kBlockElems = 32, kOffset = -16;
  static constexpr bool kSigned = false, kHasMin = false;
  static constexpr int kChunksPerMadd = 4;
  static void decode(const Block&, Scales&) {}
  static void unpack(const Block& blk, const Scales&, int, SubBlock& s) {
    s.q = _mm256_or_si256(nibbles_in_order(blk.qs), fifth_bits(blk.qh));
    s.scale_lo = s.scale_hi = _mm256_set1_epi16(1);
  }
};
struct Q5_1 {
  using Block = BlockQ5_1;
  using Scales = NoScales;
  static constexpr bool kUnitPairWeights = true;
  static constexpr int kBlockElems = 32, kOffset = 0;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kChunksPerMadd = 4;
  static void decode(const Block&, Scales&) {}
  static void unpack(const Block& blk, const Scales&, int, SubBlock& s) {
    s.q = _mm256_or_si256(nibbles_in_order(blk.qs), fifth_bits(blk.qh));
    s.scale_lo = s.scale_hi = _mm256_set1_epi16(1);
  }
};
// The 8 six-bit scales and mins of a Q4_K/Q5_K block, decoded once.
struct KScalesMins {
  float d, dmin;
  uint8_t sc[8], m[8];
  __m256i sc_words;  // sc as 16-bit words, in both halves
};
template <class Block>
void decode_k_scales(const Block& blk, KScalesMins& k) {
  k.d = half_to_float(blk.d);
  k.dmin = half_to_float(blk.dmin);
  k_quant_scales_mins(blk.scales, k.sc, k.m);
  k.sc_words = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k.sc))));
}
struct Q4_K {
  using Block = BlockQ4_K;
  using Scales = KScalesMins;
  static constexpr bool kUnitPairWeights = false;
  static constexpr int kBlockElems = 256, kOffset = 0;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kChunksPerMadd = 8;
  static void decode(const Block& blk, Scales& k) { decode_k_scales(blk, k); }
  static void unpack(const Block& blk, const Scales& k, int sub, SubBlock& s) {
    s.q = k_nibbles(blk.qs, sub);
    s.scale_lo = s.scale_hi = word_everywhere(k.sc_words, sub);
  }
};
struct Q5_K {
  using Block = BlockQ5_K;
  using Scales = KScalesMins;
  static constexpr bool kUnitPairWeights = false;
  static constexpr int kBlockElems = 256, kOffset = 0;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kChunksPerMadd = 4;
  static void decode(const Block& blk, Scales& k) { decode_k_scales(blk, k); }
  static void unpack(const Block& blk, const Scales& k, int sub, SubBlock& s) {
    // The 5th bit of element l is bit `sub` of qh[l].
    const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << sub));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
    const __m256i fifth = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(0x10));
    s.q = _mm256_or_si256(k_nibbles(blk.qs, sub), fifth);
    s.scale_lo = s.scale_hi = word_everywhere(k.sc_words, sub);
  }
};
struct Q6_KScale {
  float d;
  __m256i scale_words[2];  // the 16 int8 scales as 16-bit words: 0-7 in both halves, then 8-15
  const int8_t* scales;    // the block's
};
struct Q6_K {
  using Block = BlockQ6_K;
  using Scales = Q6_KScale;
  static constexpr bool kUnitPairWeights = false;
  static constexpr int kBlockElems = 256, kOffset = 0;
  static constexpr bool kSigned = true, kHasMin = false;
  static constexpr int kChunksPerMadd = 4;
  static void decode(const Block& blk, Scales& k) {
    k.d = half_to_float(blk.d);
    k.scales = blk.scales;
    const __m256i words = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales)));
    k.scale_words[0] = _mm256_permute2x128_si256(words, words, 0x00);
    k.scale_words[1] = _mm256_permute2x128_si256(words, words, 0x11);
  }
  // Sub-block j = 4·half + k: low 4 bits from ql (see dequantize.cpp), top 2
  // from bits 2k..2k+1 of qh; one int8 scale per 16 elements.
  static void unpack(const Block& blk, const Scales& scales, int j, SubBlock& s) {
    const int half = j / 4, k = j % 4;
    __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * half + 32 * (k % 2)));
    if (k >= 2) low = _mm256_srli_epi16(low, 4);
    low = _mm256_and_si256(low, _mm256_set1_epi8(0x0F));
    // Bits 2k..2k+1 of qh moved to bits 4-5 by one shift (none for k = 2), then masked.
    __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * half));
    if (k < 2) high = _mm256_slli_epi16(high, 4 - 2 * k);
    if (k > 2) high = _mm256_srli_epi16(high, 2 * k - 4);
    high = _mm256_and_si256(high, _mm256_set1_epi8(0x30));
    s.q = _mm256_sub_epi8(_mm256_or_si256(low, high), _mm256_set1_epi8(32));
    // Scales 2j and 2j + 1: words 2k and 2k + 1 of scale_words[half].
    s.scale_lo = word_everywhere(scales.scale_words[half], 2 * k);
    s.scale_hi = word_everywhere(scales.scale_words[half], 2 * k + 1);
  }
};

// All ones in lanes [0, n).
__m256i first_lanes_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// Lanes [0, n) of 8 consecutive floats (or i32) from p, the others 0; nothing
// past p[n - 1] is read.
__m256 load_lanes(const float* p, int n) {
  return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes_mask(n));
}
__m256i load_lanes(const int32_t* p, int n) {
  return n == 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                : _mm256_maskload_epi32(reinterpret_cast<const int*>(p), first_lanes_mask(n));
}

// The weight scales (or mins) of sub-blocks [first, first + n) of one row as
// lanes, the others 0: for the 32-element types each block's f16 d (or m).
template <class Q, class Field>
__m256 block_field_lanes(const typename Q::Block* row, int64_t first, int n, Field field) {
  const typename Q::Block* b = row + first;
  auto h = [&](int k) { return static_cast<int16_t>(field(b[k])); };
  if (n == 8) return _mm256_cvtph_ps(_mm_setr_epi16(h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7)));
  // A row's last group (576 wide: 8 + 8 + 2) in registers too: assembled in
  // a zeroed array, its 16-byte load waited on the 2-byte stores (no store
  // forwarding), in every row.
  auto t = [&](int k) { return k < n ? h(k) : int16_t{0}; };
  return _mm256_cvtph_ps(_mm_setr_epi16(t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7)));
}
template <class Q>
__m256 group_scales(const typename Q::Block* row, const typename Q::Scales& scales, int64_t first, int n) {
  if constexpr (Q::kBlockElems == 256) return _mm256_set1_ps(scales.d);
  else return block_field_lanes<Q>(row, first, n, [](const typename Q::Block& b) { return b.d; });
}
template <class Q>
__m256 group_mins(const typename Q::Block* row, const typename Q::Scales& scales, int64_t first, int n) {
  if constexpr (Q::kBlockElems == 256) {
    const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales.m));
    return _mm256_mul_ps(_mm256_set1_ps(-scales.dmin), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8)));
  } else {
    return block_field_lanes<Q>(row, first, n, [](const typename Q::Block& b) { return b.m; });
  }
}

// dot + offset·sum for Q's offset, a negative power of two (q4_0 −8, q5_0
// −16): a shift and a subtraction, where vpmulld is two uops of latency 10.
template <class Q>
__m256i plus_offset_times(__m256i dot, __m256i sum) {
  static_assert(Q::kOffset == -8 || Q::kOffset == -16);
  return _mm256_sub_epi32(dot, _mm256_slli_epi32(sum, Q::kOffset == -8 ? 3 : 4));
}

// Lane k of sum_halves(sum_quads(sum_pairs(d0, d1), sum_pairs(d2, d3)),
// sum_quads(sum_pairs(d4, d5), sum_pairs(d6, d7))) is the sum of the 8 lanes
// of dk: built two vectors at a time, so few partial sums are live at once.
__m256i sum_pairs(__m256i a, __m256i b) {
  return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}
__m256i sum_quads(__m256i a, __m256i b) {
  return _mm256_add_epi32(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
}
__m256i sum_halves(__m256i lo, __m256i hi) {
  return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// How a sub-block's quants meet one token's activation block, as 8 i32 lanes
// whose sum is the block's exact integer dot product (sub-scales included).
// `prepare` once per row and sub-block, `dot` per token.
//
// int8 activations: maddubs (or VNNI, by Dot) with the sub-scales as madd's
// pair weights.
// A sub-block's quants as maddubs takes them: unsigned, signed ones as |q|
// (the activations then take q's sign).
template <class Q>
__m256i unsigned_quants(const SubBlock& sb) {
  return Q::kSigned ? _mm256_sign_epi8(sb.q, sb.q) : sb.q;
}

// For the eight-token tiles: dword c of v in every lane. halves[h] is v's
// 128-bit half h copied to both halves (no store and reload: those tiles are
// bound by their loads), so one in-lane shuffle does it.
struct DwordBroadcaster {
  __m256i halves[2];
  explicit DwordBroadcaster(__m256i v)
      : halves{_mm256_permute2x128_si256(v, v, 0x00), _mm256_permute2x128_si256(v, v, 0x11)} {}
  __m256i operator()(int c) const __attribute__((always_inline)) {
    switch (c % 4) {
      case 0: return _mm256_shuffle_epi32(halves[c / 4], 0x00);
      case 1: return _mm256_shuffle_epi32(halves[c / 4], 0x55);
      case 2: return _mm256_shuffle_epi32(halves[c / 4], 0xAA);
      default: return _mm256_shuffle_epi32(halves[c / 4], 0xFF);
    }
  }
};

// The product of 32 u8 quants with 32 s8 activations as 8 i32 partial sums,
// the maddubs pairs weighted by `pair_weights` (all 1 when kUnitPairWeights).
struct DotMaddubs {
  template <bool kUnitPairWeights>
  static __m256i dot(__m256i q_unsigned, __m256i x, __m256i pair_weights) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q_unsigned, x), pair_weights);
  }
  // Eight tokens a group (eight_token_tile), G groups: per 4-element chunk c
  // the chunk's weight quants in every lane, maddubs with each group's 8
  // tokens' 4 quants; the i16 pair sums of kChunksPerMadd chunks added before
  // madd (the sub-scales as pair weights). The broadcasts are made once for
  // the G groups.
  template <class Q, int G>
  static void eight_token_dots(const SubBlock& sb, const BlockQuantsX8<BlockQuantsQ8>* const* xb, __m256i* dot) {
    const DwordBroadcaster qu(unsigned_quants<Q>(sb)), qs(sb.q);  // qs: the signs, for signed quants
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) dot[g] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int c0 = 0; c0 < 8; c0 += Q::kChunksPerMadd) {
      __m256i pairs[G];
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) pairs[g] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int c = c0; c < c0 + Q::kChunksPerMadd; ++c) {
        const __m256i q = qu(c);
        __m256i sign;
        if constexpr (Q::kSigned) sign = qs(c);
#pragma GCC unroll 2
        for (int g = 0; g < G; ++g) {
          __m256i xc = _mm256_load_si256(reinterpret_cast<const __m256i*>(xb[g]->q[c]));
          if constexpr (Q::kSigned) xc = _mm256_sign_epi8(xc, sign);
          pairs[g] = _mm256_add_epi16(pairs[g], _mm256_maddubs_epi16(q, xc));
        }
      }
      // Chunks 0-3 are elements 0-15 (the low half's sub-scale), chunks 4-7 elements 16-31.
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g)
        dot[g] = _mm256_add_epi32(dot[g], _mm256_madd_epi16(pairs[g], c0 < 4 ? sb.scale_lo : sb.scale_hi));
    }
  }
};

template <class Dot>
struct Int8Dots {
  using Quants = BlockQuantsQ8;
  template <class Q>
  static constexpr bool kSubScalesAfterSum = false;  // madd applies them for free
  struct Weights {
    __m256i q_unsigned, q, pair_weights;
  };
  template <class Q>
  static Weights prepare(const SubBlock& sb) {
    return {unsigned_quants<Q>(sb), sb.q, pair_weights(sb)};
  }
  template <class Q>
  static __m256i dot(const Weights& w, const BlockQuantsQ8& x) {
    __m256i xq = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.q));
    if (Q::kSigned) xq = _mm256_sign_epi8(xq, w.q);
    return Dot::template dot<Q::kUnitPairWeights>(w.q_unsigned, xq, w.pair_weights);
  }
  // Eight tokens a group, G groups (eight_token_tile): the Dot's.
  template <class Q, int G>
  static void eight_token_dots(const SubBlock& sb, const BlockQuantsX8<Quants>* const* xb, __m256i* dot) {
    Dot::template eight_token_dots<Q, G>(sb, xb, dot);
  }
};

// acc + the i32 sums of adjacent i16 products of a and b (madd, then add;
// one vpdpwssd on the AVX-512 path: MaddAddVnni). The same integers either
// way: neither saturates, and a sub-block's sums fit i32 (32 products of at
// most 32·128 by 16383).
struct MaddAdd {
  static __m256i madd_add(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
};

// 16-bit activations: the quants widened to i16 with the sub-scales
// multiplied in (at most 32·128 in magnitude, q6_K's), then madd. Widened
// in BlockQuantsQ16's order (even elements, then odd): each 16-bit word of
// the quant bytes holds an even element in its low byte and the next odd one
// in its high byte, so a mask (or two shifts, to extend a sign) and a shift
// widen them, in-lane. Each vector's low half is elements 0-15, its high
// half 16-31: pair_weights() is their sub-scales.
template <class Madd>
struct Int16Dots {
  using Quants = BlockQuantsQ16;
  struct Weights {
    __m256i even, odd;  // elements 0, 2, .., 30 and 1, 3, .., 31
  };
  // The k-quants' sub-scales: integer_tile multiplies them into a group's
  // partial sums (two vpmulld per group and token, half_sum_scales) instead
  // of into the widened weights of every sub-block (two vpmullw each). The
  // same integers either way.
  template <class Q>
  static constexpr bool kSubScalesAfterSum = Q::kBlockElems == 256;
  template <class Q, bool kScaled = !kSubScalesAfterSum<Q>>
  static Weights prepare(const SubBlock& sb) {
    Weights w = Q::kSigned ? Weights{_mm256_srai_epi16(_mm256_slli_epi16(sb.q, 8), 8), _mm256_srai_epi16(sb.q, 8)}
                           : Weights{_mm256_and_si256(sb.q, _mm256_set1_epi16(0x00FF)), _mm256_srli_epi16(sb.q, 8)};
    if constexpr (!Q::kUnitPairWeights && kScaled) {
      const __m256i scales = pair_weights(sb);
      w.even = _mm256_mullo_epi16(w.even, scales);
      w.odd = _mm256_mullo_epi16(w.odd, scales);
    }
    return w;
  }
  template <class Q>
  static __m256i dot(const Weights& w, const BlockQuantsQ16& x) {
    const auto* p = reinterpret_cast<const __m256i*>(x.q);
    return Madd::madd_add(_mm256_madd_epi16(w.even, _mm256_load_si256(p)), w.odd, _mm256_load_si256(p + 1));
  }
  // Eight tokens a group (eight_token_tile), G ≤ 2 groups: per pair of
  // elements c the pair's two weights in every lane (made once for the
  // groups), madd with each group's 8 tokens' pairs; two sums a group, so the
  // adds do not wait on each other. The sums are named variables, not an
  // array: GCC kept an array of them in memory for some types.
  template <class Q, int G>
  static void eight_token_dots(const SubBlock& sb, const BlockQuantsX8<Quants>* const* xb, __m256i* dot) {
    static_assert(G == 1 || G == 2);
    const Weights w = prepare<Q, true>(sb);
    const DwordBroadcaster lo(w.even), hi(w.odd);
    auto x = [&](int g, int c) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(xb[g]->q[c])); };
    __m256i even0 = _mm256_setzero_si256(), odd0 = even0, even1 = even0, odd1 = even0;
#pragma GCC unroll 8
    for (int c = 0; c < 16; c += 2) {
      const __m256i w0 = c < 8 ? lo(c) : hi(c - 8), w1 = c < 8 ? lo(c + 1) : hi(c - 7);
      even0 = Madd::madd_add(even0, w0, x(0, c));
      odd0 = Madd::madd_add(odd0, w1, x(0, c + 1));
      if constexpr (G == 2) {
        even1 = Madd::madd_add(even1, w0, x(1, c));
        odd1 = Madd::madd_add(odd1, w1, x(1, c + 1));
        asm("" : "+x"(even1), "+x"(odd1));
      }
      // Left to itself GCC reassociates the adds into a tree after all the
      // madds, and their results spill: each sum is taken as it comes.
      asm("" : "+x"(even0), "+x"(odd0));
    }
    dot[0] = _mm256_add_epi32(even0, odd0);
    if constexpr (G == 2) dot[1] = _mm256_add_epi32(even1, odd1);
  }
};

// integer_tile's four_sums leave sub-block k's dot product over elements
// 0-15 in lane k of the low 128-bit half and over elements 16-31 in lane k of
// the high half (k = 0-3 in `lo`, 4-7 in `hi`): the sub-scales of those
// halves as 32-bit lanes, for both vectors.
struct HalfSumScales {
  __m256i lo, hi;
};
// A byte of `bytes` per lane as picked by `order` (8 indices for lo, then 8 for hi).
template <bool kSigned>
HalfSumScales half_sum_scales(__m128i bytes, __m128i order) {
  const __m128i picked = _mm_shuffle_epi8(bytes, order);
  if constexpr (kSigned) return {_mm256_cvtepi8_epi32(picked), _mm256_cvtepi8_epi32(_mm_srli_si128(picked, 8))};
  return {_mm256_cvtepu8_epi32(picked), _mm256_cvtepu8_epi32(_mm_srli_si128(picked, 8))};
}
// q4_K, q5_K: one sub-scale per sub-block, the same for both halves.
inline HalfSumScales half_sum_scales(const KScalesMins& k) {
  return half_sum_scales<false>(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k.sc)),
                                _mm_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7));
}
// q6_K: scale 2j for sub-block j's elements 0-15, 2j + 1 for 16-31.
inline HalfSumScales half_sum_scales(const Q6_KScale& k) {
  return half_sum_scales<true>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k.scales)),
                               _mm_setr_epi8(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15));
}

// The tiles take sub-blocks in groups of kGroup starting at `first` (a
// multiple of kGroup), kSub sub-blocks to a weight block. A k-quant group is
// one whole block: these say so in a form the compiler sees (a constant
// group size; the same block for every k), so it drops every per-sub-block
// bound check and index computation there.
// How many of the group's sub-blocks the row has.
template <int kSub, int kGroup>
int sub_blocks_in_group(int64_t n_sub, int64_t first) {
  static_assert(kGroup % kSub == 0);
  return kSub == kGroup ? kGroup : static_cast<int>(std::min<int64_t>(kGroup, n_sub - first));
}
// The block of sub-block first + k: (first + k) / kSub, as kSub divides first.
template <int kSub>
int64_t block_of(int64_t first, int k) {
  return first / kSub + k / kSub;
}

// Per group of 8 sub-blocks, as the scalar reference per sub-block:
//   (scale·d_x)·(Σ q·qx + offset·Σqx) + min·(d_x·Σqx).
// Each sub-block's integer dot product (Dots: 8 i32 lanes) is summed
// into one lane of a vector that holds the group's 8 sub-blocks side by side,
// so the conversion to f32 and the multiply-add with the scale products happen
// once per group, not once per sub-block: per sub-block the tile then costs
// two integer multiplies (and a sign for signed quants), and the shuffles and
// adds of the sums go to the pipes that do not multiply (docs/kernels.md).
template <class Q, class Dots, int T>
void integer_tile(const typename Q::Block* w, const QuantizedActivations<typename Dots::Quants>* x, int64_t n_sub,
                  float* y, int64_t y_stride) {
  __m256 acc[T];
  // Every loop over t is unrolled, so the accumulators stay in registers.
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  constexpr int kSub = Q::kBlockElems / 32;
  constexpr int kGroup = 8;  // sub-blocks summed side by side; a k-quant block
  static_assert(kGroup % kSub == 0);
  for (int64_t first = 0; first < n_sub; first += kGroup) {
    const int n = sub_blocks_in_group<kSub, kGroup>(n_sub, first);
    typename Q::Scales scales;
    Q::decode(w[first / kSub], scales);  // a group is one k-quant block
    // d[t]: the integer dot product of sub-block first + k with token t (0 past the row's end).
    auto dots = [&](int k, __m256i* d) __attribute__((always_inline)) {
      const int64_t b = first + k, blk = block_of<kSub>(first, k);
      const int sub = k % kSub;  // = b % kSub: first is a multiple of kGroup, which kSub divides
      if (k >= n) {
        for (int t = 0; t < T; ++t) d[t] = _mm256_setzero_si256();
        return;
      }
      if (sub == 0) prefetch_next_tile<1>(w + blk, n_sub / kSub);
      SubBlock sb;
      Q::unpack(w[blk], scales, sub, sb);
      const typename Dots::Weights wq = Dots::template prepare<Q>(sb);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) d[t] = Dots::template dot<Q>(wq, x[t].qs[b]);
    };
    // s[t]: sub-blocks k .. k+3 as sum_quads lays them out.
    auto four_sums = [&](int k, __m256i* s) __attribute__((always_inline)) {
      __m256i a[T], b[T];
      dots(k, a), dots(k + 1, b);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) s[t] = sum_pairs(a[t], b[t]);
      dots(k + 2, a), dots(k + 3, b);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) s[t] = sum_quads(s[t], sum_pairs(a[t], b[t]));
    };
    __m256i lo[T], hi[T];
    four_sums(0, lo);
    if (n > 4) {
      four_sums(4, hi);
    } else {  // a row's last group, at most half full (e.g. 576 wide: 8 + 8 + 2)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) hi[t] = _mm256_setzero_si256();
    }
    const __m256 scale = group_scales<Q>(w, scales, first, n);
    __m256 mins = _mm256_setzero_ps();
    if constexpr (Q::kHasMin) mins = group_mins<Q>(w, scales, first, n);
    HalfSumScales sub_scales{};
    if constexpr (Dots::template kSubScalesAfterSum<Q>) sub_scales = half_sum_scales(scales);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      if constexpr (Dots::template kSubScalesAfterSum<Q>) {
        lo[t] = _mm256_mullo_epi32(lo[t], sub_scales.lo);
        hi[t] = _mm256_mullo_epi32(hi[t], sub_scales.hi);
      }
      __m256i sums = sum_halves(lo[t], hi[t]);
      if constexpr (Q::kOffset != 0)
        sums = plus_offset_times<Q>(sums, load_lanes(x[t].sum + first, n));
      const __m256 scale_xd = _mm256_mul_ps(scale, load_lanes(x[t].d + first, n));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale_xd, acc[t]);
      if constexpr (Q::kHasMin) acc[t] = _mm256_fmadd_ps(mins, load_lanes(x[t].d_sum + first, n), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) y[t * y_stride] = hsum(acc[t]);
}

// eight_token_tile's 8·G f32 accumulators, each touched once a sub-block.
// One group's 8 stay in registers. Two groups' 16 live in memory (L1): held
// in registers they pushed the sub-block's working set (the broadcast
// weights, the integer sums) into spills. The pointer is made opaque so the
// compiler cannot turn the array back into registers.
template <int G>
struct EightTokenAccumulators {
  alignas(32) float memory[G * 8 * 8] = {};
  float* p = memory;  // into this object's own array: not copyable
  EightTokenAccumulators() { asm("" : "+r"(p)); }
  EightTokenAccumulators(const EightTokenAccumulators&) = delete;
  EightTokenAccumulators& operator=(const EightTokenAccumulators&) = delete;
  __m256 get(int g, int k) const { return _mm256_load_ps(p + (8 * g + k) * 8); }
  void set(int g, int k, __m256 v) { _mm256_store_ps(p + (8 * g + k) * 8, v); }
};
template <>
struct EightTokenAccumulators<1> {
  __m256 acc[8] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256 get(int, int k) const { return acc[k]; }
  void set(int, int k, __m256 v) { acc[k] = v; }
};

// Eight tokens at once from interleaved activations (ActivationsX8), in G
// groups of 8 (16 tokens when G = 2: the weights' unpack and broadcasts are
// then paid once for both groups): lane t of every vector is token t of its
// group. Per 4-byte chunk of a sub-block's activations (4 int8 or 2 int16
// elements), the chunk's weights are broadcast and multiplied with the 8
// tokens' chunks, so the lanes end up holding each token's integer dot
// product with no sums across lanes (Dots::eight_token_dots).
//
// Bit for bit integer_tile's result for each token (batch invariance): the
// integer dot products are exact either way, and each token's f32 operations
// are integer_tile's in its order. integer_tile keeps sub-block k of each
// group of 8 in lane k of one accumulator and sums the lanes at the end
// (hsum); here accumulator (g, k) holds lane k of every token of group g,
// and the end sums them in hsum's order. (A row's last group, when partial,
// leaves the missing accumulators as they are, where integer_tile adds
// products with 0 to its lanes: they can differ only in the sign of an exact
// zero, which compares equal.) y: group g's 8 outputs at y[(8g + t) · y_stride].
template <class Q, class Dots, int G>
void eight_token_tile(const typename Q::Block* w, const ActivationsX8<typename Dots::Quants>* x, int64_t n_sub,
                      float* y, int64_t y_stride) {
  EightTokenAccumulators<G> acc;
  constexpr int kSub = Q::kBlockElems / 32;
  constexpr int kGroup = 8;
  static_assert(kGroup % kSub == 0);
  for (int64_t first = 0; first < n_sub; first += kGroup) {
    const int n = sub_blocks_in_group<kSub, kGroup>(n_sub, first);
    typename Q::Scales scales;
    Q::decode(w[first / kSub], scales);
    alignas(32) float scale[8], mins[8];
    _mm256_store_ps(scale, group_scales<Q>(w, scales, first, n));
    if constexpr (Q::kHasMin) _mm256_store_ps(mins, group_mins<Q>(w, scales, first, n));
#pragma GCC unroll 8
    for (int k = 0; k < kGroup; ++k) {
      if (k >= n) break;
      const int64_t b = first + k, blk = block_of<kSub>(first, k);
      const int sub = k % kSub;  // = b % kSub: first is a multiple of kGroup, which kSub divides
      if (sub == 0) prefetch_next_tile<1>(w + blk, n_sub / kSub);
      SubBlock sb;
      Q::unpack(w[blk], scales, sub, sb);
      const BlockQuantsX8<typename Dots::Quants>* xb[G];
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) xb[g] = &x[g].qs[b];
      __m256i dot[G];
      Dots::template eight_token_dots<Q, G>(sb, xb, dot);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        if constexpr (Q::kOffset != 0)
          dot[g] = plus_offset_times<Q>(dot[g], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[g].sum + 8 * b)));
        const __m256 scale_xd = _mm256_mul_ps(_mm256_broadcast_ss(scale + k), _mm256_loadu_ps(x[g].d + 8 * b));
        __m256 a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[g]), scale_xd, acc.get(g, k));
        if constexpr (Q::kHasMin) a = _mm256_fmadd_ps(_mm256_broadcast_ss(mins + k), _mm256_loadu_ps(x[g].d_sum + 8 * b), a);
        acc.set(g, k, a);
      }
    }
  }
#pragma GCC unroll 2
  for (int g = 0; g < G; ++g) {
    auto a = [&](int k) { return acc.get(g, k); };
    // hsum's order: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a(0), a(4)), _mm256_add_ps(a(2), a(6))),
                                     _mm256_add_ps(_mm256_add_ps(a(1), a(5)), _mm256_add_ps(a(3), a(7))));
    alignas(32) float out[8];
    _mm256_store_ps(out, sum);
    for (int t = 0; t < 8; ++t) y[(8 * g + t) * y_stride] = out[t];
  }
}

// Whether Dots has a tile that takes two rows at once
// (two_row_eight_token_tile<Q, G>(row0, row1, x, n_sub, y, y_stride): y's
// columns o and o + 1, each as eight_token_tile writes one).
template <class Dots>
constexpr bool has_two_row_eight_token_tile() {
  return requires { Dots::kTwoRowEightTokenTile; };
}

template <class Q, class Dots>
void rows_integer(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Activations = QuantizedActivations<typename Dots::Quants>;
  using Block = typename Q::Block;
  const int64_t n_sub = a.w.cols / 32, blocks_per_row = a.w.cols / Q::kBlockElems, stride = a.w.rows;
  const auto* base = static_cast<const Block*>(a.w.data);
  auto row_ptr = [&](int64_t o) { return base + o * blocks_per_row; };
  // Integer activations in groups of 8 tokens (batched decode, prefill; the
  // types of takes_eight_token_groups()): the eight-token tile, two groups at
  // a time over the rows (they stay in L1/L2), then a last odd group.
  int64_t t_begin = 0;
  const ActivationsX8<typename Dots::Quants> x8 = a.interleaved<typename Dots::Quants>();
  if (x8.qs) {
    const int64_t n_groups = a.n_tokens / 8;
    // Groups g .. g + G - 1 over the rows: two rows at a time where Dots has
    // a two-row tile (the AVX-512 path), else one.
    auto pass = [&]<int G>(int64_t g) {
      ActivationsX8<typename Dots::Quants> xg[G];
      for (int k = 0; k < G; ++k) xg[k] = x8.group(g + k, n_sub);
      float* y = a.y + 8 * g * stride;
      int64_t o = row_begin;
      if constexpr (has_two_row_eight_token_tile<Dots>())
        for (; o + 2 <= row_end; o += 2)
          Dots::template two_row_eight_token_tile<Q, G>(row_ptr(o), row_ptr(o + 1), xg, n_sub, y + o, stride);
      for (; o < row_end; ++o) eight_token_tile<Q, Dots, G>(row_ptr(o), xg, n_sub, y + o, stride);
    };
    int64_t g = 0;
    for (; g + 2 <= n_groups; g += 2) pass.template operator()<2>(g);  // 16 tokens a pass over the rows
    if (g < n_groups) pass.template operator()<1>(g);
    t_begin = n_groups * 8;
  }
  auto tile = [&]<int R, int T>(const Block* const* rows, int64_t t, float* y) {
    static_assert(R == 1);
    const Activations xq = a.quantized<typename Dots::Quants>();
    Activations xs[T];
    for (int k = 0; k < T; ++k) xs[k] = xq.from_block((t + k) * n_sub);
    integer_tile<Q, Dots, T>(rows[0], xs, n_sub, y, stride);
  };
  // One row at a time: the weights are read as one sequential stream (4
  // interleaved rows measured 20% slower from DRAM: bench ModelSweep), and a
  // row's partial sums for up to 4 tokens fill the 16 registers.
  for_each_tile<1>(row_begin, row_end, t_begin, a.n_tokens, stride, a.y, row_ptr, tile);
}

// The integer-activation kernel of each weight type above; null for others.
template <class Dots>
MatmulRowsFn integer_rows(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: return rows_integer<Q8_0, Dots>;
    case GgmlType::Q4_0: return rows_integer<Q4_0, Dots>;
    case GgmlType::Q4_1: return rows_integer<Q4_1, Dots>;
    case GgmlType::Q5_0: return rows_integer<Q5_0, Dots>;
    case GgmlType::Q5_1: return rows_integer<Q5_1, Dots>;
    case GgmlType::Q4_K: return rows_integer<Q4_K, Dots>;
    case GgmlType::Q5_K: return rows_integer<Q5_K, Dots>;
    case GgmlType::Q6_K: return rows_integer<Q6_K, Dots>;
    default: return nullptr;
  }
}

// ---- the same weight types against f32 activations ----------------------------
//
// Per 32-element sub-block the quants are unpacked into 32 bytes in element
// order (as for the int8 tiles), then widened to 4×8 floats q_f by in-lane
// unpacks, in lane order (lane_order_activations.h: the activations come in
// that order too). The widening is exact and folds in the type's offset: each
// dword gets 0x4B00 as its high word, which makes it the float 2^23 + q, and
// subtracting 2^23 − offset leaves q + offset (signed quants go in as q + 128).
// So w = scale·q_f + min, and per token
//   acc += scale·(Σ q_f·x) + min·(Σ x)
// the min term only for the types that have one, with Σx per block and lane
// from the lane-order activations (the lanes are summed once, at the end).
// q6_K, whose sub-scale changes every 16 elements, scales the products of its
// two halves apart: lanes 0-3 of each vector are elements 0-15, lanes 4-7
// elements 16-31 (lane order), so each half is a blend of the two scales.

struct FloatQuants {
  __m256 q[4];       // lane order
  __m256 scale, min; // per lane: q6_K's lanes 4-7 (elements 16-31) take their own scale
};

// A row's per-block scales as the f32 tile takes them: for the 32-element
// types none (float_quants reads the block's d and m); for k-quants every
// sub-block's scale·d (and -min·dmin) as floats, decoded once per block and row
// and broadcast from memory per sub-block.
template <class Q>
struct FloatScalesOf {
  using type = NoScales;
};
struct KFloatScales {
  alignas(32) float scale[8];
  alignas(32) float min[8];
};
struct Q6_KFloatScales {
  alignas(32) float scale[16];  // one per 16 elements
};
template <>
struct FloatScalesOf<Q4_K> {
  using type = KFloatScales;
};
template <>
struct FloatScalesOf<Q5_K> {
  using type = KFloatScales;
};
template <>
struct FloatScalesOf<Q6_K> {
  using type = Q6_KFloatScales;
};

__m256 u8_as_float(__m128i eight) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(eight)); }
__m256 s8_as_float(__m128i eight) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(eight)); }

template <class Block>
void decode_k_float_scales(const Block& blk, KFloatScales& f) {
  alignas(8) uint8_t sc[8], m[8];
  k_quant_scales_mins(blk.scales, sc, m);
  _mm256_store_ps(f.scale, _mm256_mul_ps(_mm256_set1_ps(half_to_float(blk.d)),
                                         u8_as_float(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc)))));
  _mm256_store_ps(f.min, _mm256_mul_ps(_mm256_set1_ps(-half_to_float(blk.dmin)),
                                       u8_as_float(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)))));
}
template <class Block>
void decode_float_scales(const Block&, NoScales&) {}
void decode_float_scales(const BlockQ4_K& blk, KFloatScales& f) { decode_k_float_scales(blk, f); }
void decode_float_scales(const BlockQ5_K& blk, KFloatScales& f) { decode_k_float_scales(blk, f); }
void decode_float_scales(const BlockQ6_K& blk, Q6_KFloatScales& f) {
  const __m256 d = _mm256_set1_ps(half_to_float(blk.d));
  const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales));
  // (int8 scale)·d: 8 bits by 11, exact in f32.
  _mm256_store_ps(f.scale, _mm256_mul_ps(d, s8_as_float(sc)));
  _mm256_store_ps(f.scale + 8, _mm256_mul_ps(d, s8_as_float(_mm_srli_si128(sc, 8))));
}

// Sub-block `sub`'s quants plus Q's offset as 4×8 floats in lane order (exact).
template <class Q>
void quants_as_float(const typename Q::Block& blk, int sub, FloatQuants& f) {
  SubBlock sb;
  // The int8 unpack's sub-scales are not used here (FloatScalesOf carries them).
  Q::unpack(blk, typename Q::Scales{}, sub, sb);
  const __m256i u = Q::kSigned ? _mm256_xor_si256(sb.q, _mm256_set1_epi8(static_cast<char>(0x80))) : sb.q;
  constexpr float kMagic = 8388608.0f;  // 2^23: an integer below it fills the mantissa exactly
  const __m256 shift = _mm256_set1_ps(Q::kSigned ? kMagic + 128.0f : kMagic - static_cast<float>(Q::kOffset));
  const __m256i zero = _mm256_setzero_si256(), exponent = _mm256_set1_epi16(0x4B00);
  const __m256i lo = _mm256_unpacklo_epi8(u, zero), hi = _mm256_unpackhi_epi8(u, zero);
  auto as_float = [&](__m256i words) { return _mm256_sub_ps(_mm256_castsi256_ps(words), shift); };
  f.q[0] = as_float(_mm256_unpacklo_epi16(lo, exponent));
  f.q[1] = as_float(_mm256_unpackhi_epi16(lo, exponent));
  f.q[2] = as_float(_mm256_unpacklo_epi16(hi, exponent));
  f.q[3] = as_float(_mm256_unpackhi_epi16(hi, exponent));
}

// Lanes 0-3 a, lanes 4-7 b, each broadcast from memory.
__m256 halves(const float* a, const float* b) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(a)), _mm_broadcast_ss(b), 1);
}

void float_quants(const BlockQ8_0& blk, const NoScales&, int, FloatQuants& f) {
  quants_as_float<Q8_0>(blk, 0, f);
  f.scale = _mm256_set1_ps(half_to_float(blk.d));
}
void float_quants(const BlockQ4_0& blk, const NoScales&, int, FloatQuants& f) {
  quants_as_float<Q4_0>(blk, 0, f);
  f.scale = _mm256_set1_ps(half_to_float(blk.d));
}
void float_quants(const BlockQ4_1& blk, const NoScales&, int, FloatQuants& f) {
  quants_as_float<Q4_1>(blk, 0, f);
  f.scale = _mm256_set1_ps(half_to_float(blk.d)), f.min = _mm256_set1_ps(half_to_float(blk.m));
}
void float_quants(const BlockQ5_0& blk, const NoScales&, int, FloatQuants& f) {
  quants_as_float<Q5_0>(blk, 0, f);
  f.scale = _mm256_set1_ps(half_to_float(blk.d));
}
void float_quants(const BlockQ5_1& blk, const NoScales&, int, FloatQuants& f) {
  quants_as_float<Q5_1>(blk, 0, f);
  f.scale = _mm256_set1_ps(half_to_float(blk.d)), f.min = _mm256_set1_ps(half_to_float(blk.m));
}
void float_quants(const BlockQ4_K& blk, const KFloatScales& k, int sub, FloatQuants& f) {
  quants_as_float<Q4_K>(blk, sub, f);
  f.scale = _mm256_broadcast_ss(k.scale + sub), f.min = _mm256_broadcast_ss(k.min + sub);
}
void float_quants(const BlockQ5_K& blk, const KFloatScales& k, int sub, FloatQuants& f) {
  quants_as_float<Q5_K>(blk, sub, f);
  f.scale = _mm256_broadcast_ss(k.scale + sub), f.min = _mm256_broadcast_ss(k.min + sub);
}
void float_quants(const BlockQ6_K& blk, const Q6_KFloatScales& k, int j, FloatQuants& f) {
  quants_as_float<Q6_K>(blk, j, f);
  f.scale = halves(k.scale + 2 * j, k.scale + 2 * j + 1);
}

template <class Q, int R, int T>
void f32_activation_tile(const typename Q::Block* const* w, const float* const* x, const float* const* x_sums,
                         int64_t n_sub, float* y, int64_t y_stride) {
  __m256 acc[R][T];
  // Every loop over r, t and g is unrolled, so the accumulators stay in registers.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  constexpr int kSub = Q::kBlockElems / 32;
  for (int64_t blk = 0; blk < n_sub / kSub; ++blk) {
    typename FloatScalesOf<Q>::type scales[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      prefetch_next_tile<R>(w[r] + blk, n_sub / kSub);
      decode_float_scales(w[r][blk], scales[r]);
    }
    // Unrolled, so each sub-block's index (and nibble half, bit, shift) is a constant.
#pragma GCC unroll 8
    for (int sub = 0; sub < kSub; ++sub) {
      const int64_t b = blk * kSub + sub;
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        FloatQuants f;
        float_quants(w[r][blk], scales[r], sub, f);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const float* xb = x[t] + 32 * b;
          __m256 dot = _mm256_mul_ps(f.q[0], _mm256_loadu_ps(xb));
#pragma GCC unroll 3
          for (int g = 1; g < 4; ++g) dot = _mm256_fmadd_ps(f.q[g], _mm256_loadu_ps(xb + 8 * g), dot);
          acc[r][t] = _mm256_fmadd_ps(dot, f.scale, acc[r][t]);
          if constexpr (Q::kHasMin) acc[r][t] = _mm256_fmadd_ps(f.min, _mm256_loadu_ps(x_sums[t] + 8 * b), acc[r][t]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) y[t * y_stride + r] = hsum(acc[r][t]);
}

template <class Q>
void rows_f32_activations(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Block = typename Q::Block;
  const int64_t n_sub = a.w.cols / 32, blocks_per_row = a.w.cols / Q::kBlockElems, stride = a.w.rows;
  const auto* base = static_cast<const Block*>(a.w.data);
  auto row_ptr = [&](int64_t o) { return base + o * blocks_per_row; };
  auto tile = [&]<int R, int T>(const Block* const* rows, int64_t t, float* y) {
    const float *xs[T], *sums[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x_lanes.x + (t + k) * a.w.cols, sums[k] = a.x_lanes.sums + (t + k) * n_sub * 8;
    f32_activation_tile<Q, R, T>(rows, xs, sums, n_sub, y, stride);
  };
  // Decode: one row at a time, as in rows_integer.
  if (a.n_tokens == 1)
    for_each_tile<1>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
  else
    for_each_tile<2>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
}

// The f32-activation kernel of each weight type above; null for others.
MatmulRowsFn f32_activation_rows(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: return rows_f32_activations<Q8_0>;
    case GgmlType::Q4_0: return rows_f32_activations<Q4_0>;
    case GgmlType::Q4_1: return rows_f32_activations<Q4_1>;
    case GgmlType::Q5_0: return rows_f32_activations<Q5_0>;
    case GgmlType::Q5_1: return rows_f32_activations<Q5_1>;
    case GgmlType::Q4_K: return rows_f32_activations<Q4_K>;
    case GgmlType::Q5_K: return rows_f32_activations<Q5_K>;
    case GgmlType::Q6_K: return rows_f32_activations<Q6_K>;
    default: return nullptr;
  }
}

}  // namespace
}  // namespace chorus::kernels
