// AVX2+FMA matmul kernels (the project's baseline ISA). Each kernel computes a
// tile of R weight rows × T tokens, so one load (and unpack) of a weight block
// serves T tokens and one load of an activation block serves R rows.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"

namespace chorus::kernels {

namespace {

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

// ---- float weights: f32, f16, bf16 ------------------------------------------

struct LoadF32 {
  using Elem = float;
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float load1(const float* p) { return *p; }
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float load1(const uint16_t* p) { return half_to_float(*p); }
};
struct LoadBF16 {
  using Elem = uint16_t;
  static __m256 load8(const uint16_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
  static float load1(const uint16_t* p) { return bf16_to_fp32(*p); }
};

template <class L, int R, int T>
void float_tile(const typename L::Elem* const* w, const float* const* x, int64_t n, float* y, int64_t y_stride) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + i);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = L::load8(w[r] + i);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t k = i; k < n; ++k) s += L::load1(w[r] + k) * x[t][k];
      y[t * y_stride + r] = s;
    }
  }
}

// Runs the tile kernel over rows [row_begin, row_end) × all tokens: tokens in
// chunks, rows in groups of R, tokens within a chunk in groups of up to 4.
// `row_ptr(o)` gives row o's data; `tile<R, T>(rows, tokens, y + o, y_stride)`.
template <int R, class RowPtr, class Tile>
void for_each_tile(int64_t row_begin, int64_t row_end, int64_t n_tokens, int64_t y_stride, float* y,
                   const RowPtr& row_ptr, const Tile& tile) {
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
    const int64_t t_end = std::min(n_tokens, t0 + kTokenChunk);
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

template <class L>
void rows_float(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Elem = typename L::Elem;
  const auto* base = static_cast<const Elem*>(a.w.data);
  const int64_t cols = a.w.cols, stride = a.w.rows;
  auto row_ptr = [&](int64_t o) { return base + o * cols; };
  auto tile = [&]<int R, int T>(const Elem* const* rows, int64_t t, float* y) {
    const float* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x + (t + k) * cols;
    // Decode (one token) needs several rows in flight to hide the FMA latency.
    float_tile<L, R, T>(rows, xs, cols, y, stride);
  };
  if (a.n_tokens == 1)
    for_each_tile<4>(row_begin, row_end, a.n_tokens, stride, a.y, row_ptr, tile);
  else
    for_each_tile<2>(row_begin, row_end, a.n_tokens, stride, a.y, row_ptr, tile);
}

// Types without a dedicated kernel: dequantize each row to f32 once, then the
// f32 tile over all tokens.
void rows_dequantized(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(a.w.cols));
  const size_t rb = row_bytes(a.w.type, a.w.cols);
  const auto* base = static_cast<const uint8_t*>(a.w.data);
  const int64_t cols = a.w.cols, stride = a.w.rows;
  auto row_ptr = [&](int64_t) { return static_cast<const float*>(row.data()); };
  auto tile = [&]<int R, int T>(const float* const* rows, int64_t t, float* y) {
    const float* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x + (t + k) * cols;
    float_tile<LoadF32, R, T>(rows, xs, cols, y, stride);
  };
  for (int64_t o = row_begin; o < row_end; ++o) {
    dequantize_row(a.w.type, base + o * rb, row.data(), cols);
    for_each_tile<1>(o, o + 1, a.n_tokens, stride, a.y, row_ptr, tile);
  }
}

// ---- 32-blocks with int8 activations: q8_0, q4_0, q4_1, q5_0, q5_1 ---------
//
// Each block's 32 quants are unpacked into one register in element order, and
// multiplied with the activation's int8 quants by maddubs (u8 × s8 → i16
// pairs, then i32 by madd). maddubs needs its first operand unsigned: 4- and
// 5-bit quants are (0..31, pair sums ≤ 2·31·127, no saturation); signed q8_0
// quants go in as |w| with the activation taking w's sign.

__m256i nibbles_in_order(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
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

struct Q8_0 {
  using Block = BlockQ8_0;
  static constexpr bool kSigned = true, kHasMin = false;
  static constexpr int kOffset = 0;
  static __m256i quants(const Block& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
  static float min(const Block&) { return 0.0f; }
};
struct Q4_0 {
  using Block = BlockQ4_0;
  static constexpr bool kSigned = false, kHasMin = false;
  static constexpr int kOffset = -8;
  static __m256i quants(const Block& b) { return nibbles_in_order(b.qs); }
  static float min(const Block&) { return 0.0f; }
};
struct Q4_1 {
  using Block = BlockQ4_1;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kOffset = 0;
  static __m256i quants(const Block& b) { return nibbles_in_order(b.qs); }
  static float min(const Block& b) { return half_to_float(b.m); }
};
struct Q5_0 {
  using Block = BlockQ5_0;
  static constexpr bool kSigned = false, kHasMin = false;
  static constexpr int kOffset = -16;
  static __m256i quants(const Block& b) { return _mm256_or_si256(nibbles_in_order(b.qs), fifth_bits(b.qh)); }
  static float min(const Block&) { return 0.0f; }
};
struct Q5_1 {
  using Block = BlockQ5_1;
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr int kOffset = 0;
  static __m256i quants(const Block& b) { return _mm256_or_si256(nibbles_in_order(b.qs), fifth_bits(b.qh)); }
  static float min(const Block& b) { return half_to_float(b.m); }
};

// Per block, as the scalar reference: (d_w·d_x)·(Σ q·qx + offset·Σqx) + min·(d_x·Σqx).
template <class Q, int R, int T>
void q8_tile(const typename Q::Block* const* w, const ActivationBlockQ8* const* x, int64_t nb, float* y,
             int64_t y_stride) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < R; ++r) {
      const typename Q::Block& blk = w[r][b];
      const __m256i q = Q::quants(blk);
      const __m256i q_unsigned = Q::kSigned ? _mm256_sign_epi8(q, q) : q;
      const float dw = half_to_float(blk.d);
      const float mw = Q::min(blk);
      for (int t = 0; t < T; ++t) {
        const ActivationBlockQ8& xb = x[t][b];
        __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
        if (Q::kSigned) xq = _mm256_sign_epi8(xq, q);
        __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(q_unsigned, xq), ones);
        if (Q::kOffset != 0)
          dot = _mm256_add_epi32(dot, _mm256_zextsi128_si256(_mm_cvtsi32_si128(Q::kOffset * xb.sum)));
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xb.d), acc[r][t]);
        if (Q::kHasMin)
          acc[r][t] = _mm256_add_ps(acc[r][t],
                                    _mm256_zextps128_ps256(_mm_set_ss(mw * (xb.d * static_cast<float>(xb.sum)))));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * y_stride + r] = hsum(acc[r][t]);
}

template <class Q>
void rows_q8(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Block = typename Q::Block;
  const int64_t nb = a.w.cols / 32, stride = a.w.rows;
  const auto* base = static_cast<const Block*>(a.w.data);
  auto row_ptr = [&](int64_t o) { return base + o * nb; };
  auto tile = [&]<int R, int T>(const Block* const* rows, int64_t t, float* y) {
    const ActivationBlockQ8* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.xq + (t + k) * nb;
    q8_tile<Q, R, T>(rows, xs, nb, y, stride);
  };
  for_each_tile<2>(row_begin, row_end, a.n_tokens, stride, a.y, row_ptr, tile);
}

}  // namespace

MatmulRowsFn matmul_rows_avx2(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return rows_float<LoadF32>;
    case GgmlType::F16: return rows_float<LoadF16>;
    case GgmlType::BF16: return rows_float<LoadBF16>;
    case GgmlType::Q8_0: return rows_q8<Q8_0>;
    case GgmlType::Q4_0: return rows_q8<Q4_0>;
    case GgmlType::Q4_1: return rows_q8<Q4_1>;
    case GgmlType::Q5_0: return rows_q8<Q5_0>;
    case GgmlType::Q5_1: return rows_q8<Q5_1>;
    default: return can_dequantize(type) ? rows_dequantized : nullptr;
  }
}

}  // namespace chorus::kernels
