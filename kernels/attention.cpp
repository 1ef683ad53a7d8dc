// Attention products, AVX2. Scores take four keys at a time (four independent
// FMA chains, then one transposing reduction), so a decode step is not bound by
// one dot product's latency per key; the value sum keeps a 64-wide slice of
// the output in registers over the whole run instead of loading and storing it
// per key. A key's score, and each output element's sum, run in one fixed
// order whatever the run's length and the key's place in it (batch
// invariance: a sequence's keys fall into runs the same way in any batch, but
// the order must not depend on that either).
#include "kernels/attention.h"

#include <immintrin.h>

namespace chorus::kernels {

namespace {

struct LoadF32 {
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float load1(const float* p) { return *p; }
};
// F16C is part of the baseline ISA.
struct LoadF16 {
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float load1(const uint16_t* p) { return _cvtsh_ss(*p); }
};

// Lanes summed as (l0+l1)+(l2+l3) + (l4+l5)+(l6+l7), for each of 4 vectors:
// the result's lane i is vector i's sum, in the same order for every i.
__m128 sum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// scores[i] for i < n; head_dim a multiple of 8. A run's last n % 4 keys go
// through the same 4-key code (the missing ones repeat the last key and are
// not stored), so every key's sum has the same order.
template <class L, class T>
void scores_by_four(const float* q, const T* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                    float* scores) {
  const __m128 scale4 = _mm_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 4) {
    const T* rows[4];
    for (int j = 0; j < 4; ++j) rows[j] = k + (i + j < n ? i + j : n - 1) * stride;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t d = 0; d < head_dim; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      for (int j = 0; j < 4; ++j) acc[j] = _mm256_fmadd_ps(qv, L::load8(rows[j] + d), acc[j]);
    }
    alignas(16) float s[4];
    _mm_store_ps(s, _mm_mul_ps(scale4, sum4(acc[0], acc[1], acc[2], acc[3])));
    for (int j = 0; j < 4 && i + j < n; ++j) scores[i + j] = s[j];
  }
}

// Any head_dim: one key at a time, the lanes then the tail.
template <class L, class T>
void scores_one_by_one(const float* q, const T* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                       float* scores) {
  for (int64_t i = 0; i < n; ++i) {
    const T* row = k + i * stride;
    __m256 acc = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 8 <= head_dim; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), L::load8(row + d), acc);
    const __m256 z = _mm256_setzero_ps();
    float s = _mm_cvtss_f32(sum4(acc, z, z, z));
    for (; d < head_dim; ++d) s += q[d] * L::load1(row + d);
    scores[i] = scale * s;
  }
}

template <class L, class T>
void scores(const float* q, const T* k, int64_t n, int64_t stride, int64_t head_dim, float scale, float* out) {
  if (head_dim % 8 == 0)
    scores_by_four<L>(q, k, n, stride, head_dim, scale, out);
  else
    scores_one_by_one<L>(q, k, n, stride, head_dim, scale, out);
}

// out[d] += w[i]·v_i[d], i = 0, 1, ... in order, one FMA each: a slice of up
// to 64 elements of out stays in registers for the whole run.
template <class L, class T>
void accumulate(const float* w, const T* v, int64_t n, int64_t stride, int64_t head_dim, float* out) {
  constexpr int kSlice = 64;
  int64_t d0 = 0;
  for (; d0 + kSlice <= head_dim; d0 += kSlice) {
    __m256 acc[kSlice / 8];
    for (int j = 0; j < kSlice / 8; ++j) acc[j] = _mm256_loadu_ps(out + d0 + 8 * j);
    for (int64_t i = 0; i < n; ++i) {
      const __m256 wi = _mm256_set1_ps(w[i]);
      const T* row = v + i * stride + d0;
      for (int j = 0; j < kSlice / 8; ++j) acc[j] = _mm256_fmadd_ps(wi, L::load8(row + 8 * j), acc[j]);
    }
    for (int j = 0; j < kSlice / 8; ++j) _mm256_storeu_ps(out + d0 + 8 * j, acc[j]);
  }
  // The rest: 8 lanes at a time, then one element at a time, each still in key order.
  for (int64_t i = 0; i < n; ++i) {
    const __m256 wi = _mm256_set1_ps(w[i]);
    const T* row = v + i * stride;
    int64_t d = d0;
    for (; d + 8 <= head_dim; d += 8)
      _mm256_storeu_ps(out + d, _mm256_fmadd_ps(wi, L::load8(row + d), _mm256_loadu_ps(out + d)));
    for (; d < head_dim; ++d) out[d] = __builtin_fmaf(w[i], L::load1(row + d), out[d]);
  }
}

}  // namespace

void attn_scores_f32(const float* q, const float* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* out) {
  scores<LoadF32>(q, k, n, stride, head_dim, scale, out);
}

void attn_scores_f16(const float* q, const uint16_t* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* out) {
  scores<LoadF16>(q, k, n, stride, head_dim, scale, out);
}

void attn_accumulate_f32(const float* w, const float* v, int64_t n, int64_t stride, int64_t head_dim, float* out) {
  accumulate<LoadF32>(w, v, n, stride, head_dim, out);
}

void attn_accumulate_f16(const float* w, const uint16_t* v, int64_t n, int64_t stride, int64_t head_dim, float* out) {
  accumulate<LoadF16>(w, v, n, stride, head_dim, out);
}

}  // namespace chorus::kernels
