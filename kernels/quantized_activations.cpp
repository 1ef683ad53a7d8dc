#include "kernels/quantized_activations.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

namespace {

// 1/d, or 0 for a block too small to scale (d subnormal or 0: 1/d would
// overflow); such a block quantizes to zeros.
float inverse_scale(float d) { return d >= 0x1p-126f ? 1.0f / d : 0.0f; }

// Where a row's blocks go: block b's quants at qs[b], its fields at d[b], ...
template <class Quants>
struct RowOut {
  Quants* qs;
  float* d;
  int32_t* sum;
  float* d_sum;
  void set(int64_t b, float scale, int32_t quant_sum) const {
    d[b] = scale;
    sum[b] = quant_sum;
    d_sum[b] = scale * static_cast<float>(quant_sum);
  }
};

// The reference.
template <class Quants>
void quantize_scalar(const float* x, int64_t n, const RowOut<Quants>& y) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / static_cast<float>(Quants::kMax);
    const float id = inverse_scale(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      auto& q = y.qs[b].q[Quants::slot(j)];
      q = static_cast<std::remove_cvref_t<decltype(q)>>(std::roundf(x[j] * id));
      sum += q;
    }
    y.set(b, d, sum);
  }
}

// roundf (halves away from zero), exactly: v - trunc(v) is exact in f32.
__m256i round_half_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 frac = _mm256_andnot_ps(sign_bit, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign_bit), _mm256_set1_ps(1.0f));  // ±1 with v's sign
  const __m256 bump = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away);
  return _mm256_cvttps_epi32(_mm256_add_ps(t, bump));
}

// 32 quants (4 vectors of 8 i32, in order) stored narrowed to the block's width.
// packs interleave 128-bit lanes; the permutes restore the order.
void store_quants(const __m256i* q, BlockQuantsQ8& out) {
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  const __m256i ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_store_si256(reinterpret_cast<__m256i*>(out.q), ordered);
}
// The 16-bit quants go in BlockQuantsQ16's order: each 128-bit lane's words
// split into its even and odd ones, then the even ones of both halves first.
void store_quants(const __m256i* q, BlockQuantsQ16& out) {
  const __m256i evens_then_odds =
      _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15));
  __m256i split[2];  // half h: elements 16h + (0, 2, .., 14 | 1, 3, .., 15)
  for (int h = 0; h < 2; ++h) {
    const __m256i packed = _mm256_packs_epi32(q[2 * h], q[2 * h + 1]);  // elements 0-3, 8-11 | 4-7, 12-15
    const __m256i in_order = _mm256_permute4x64_epi64(packed, 0xD8);
    split[h] = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(in_order, evens_then_odds), 0xD8);
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(out.q), _mm256_permute2x128_si256(split[0], split[1], 0x20));
  _mm256_store_si256(reinterpret_cast<__m256i*>(out.q + 16), _mm256_permute2x128_si256(split[0], split[1], 0x31));
}

// Bit for bit the reference: the same f32 operations in the same order per element.
template <class Quants>
void quantize_avx2(const float* x, int64_t n, const RowOut<Quants>& y) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                             _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / static_cast<float>(Quants::kMax);
    const float id = inverse_scale(d);
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = round_half_away(_mm256_mul_ps(v[k], idv));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    store_quants(q, y.qs[b]);
    y.set(b, d, _mm_cvtsi128_si32(s4));
  }
}

template <class Quants>
void quantize_row(KernelPath path, const float* x, int64_t n, QuantizedActivationsBuffer<Quants>& y,
                  int64_t first_block) {
  const RowOut<Quants> out{y.qs(first_block), y.d(first_block), y.sum(first_block), y.d_sum(first_block)};
  if (path == KernelPath::kScalar)
    quantize_scalar(x, n, out);
  else
    quantize_avx2(x, n, out);
}

}  // namespace

void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ8Buffer& y,
                             int64_t first_block) {
  quantize_row(path, x, n, y, first_block);
}

void quantize_activation_row(KernelPath path, const float* x, int64_t n, ActivationsQ16Buffer& y,
                             int64_t first_block) {
  quantize_row(path, x, n, y, first_block);
}

template <class Quants>
void ActivationsX8Buffer<Quants>::interleave(const QuantizedActivations<Quants>& x, int64_t n_blocks, int64_t g) {
  constexpr int kChunks = BlockQuantsX8<Quants>::kChunks;
  const size_t base = static_cast<size_t>(g * n_blocks);
  for (int64_t b = 0; b < n_blocks; ++b) {
    BlockQuantsX8<Quants>& out = qs_[base + b];
    for (int t = 0; t < 8; ++t) {
      const int64_t i = (8 * g + t) * n_blocks + b;  // token 8g + t's block b
      const auto* bytes = reinterpret_cast<const uint8_t*>(x.qs[i].q);
      for (int c = 0; c < kChunks; ++c) std::memcpy(&out.q[c][4 * t], bytes + 4 * c, 4);
      d_[8 * (base + b) + t] = x.d[i];
      sum_[8 * (base + b) + t] = x.sum[i];
      d_sum_[8 * (base + b) + t] = x.d_sum[i];
      if constexpr (std::is_same_v<Quants, BlockQuantsQ8>) {
        int32_t lo = 0;
        for (int j = 0; j < 16; ++j) lo += x.qs[i].q[j];
        sum_lo_[8 * (base + b) + t] = lo;
      }
    }
  }
}
template class ActivationsX8Buffer<BlockQuantsQ8>;
template class ActivationsX8Buffer<BlockQuantsQ16>;

}  // namespace chorus::kernels
