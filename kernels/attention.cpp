#include "kernels/attention.h"

#include <immintrin.h>

#include "kernels/ops_paths.h"

namespace chorus::kernels {

namespace {

// Eight f16 values to f32 (F16C is part of the baseline ISA).
inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

void attn_scores_f32(const float* q, const float* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* scores) {
  for (int64_t i = 0; i < n; ++i) scores[i] = scale * avx2::dot_f32(q, k + i * stride, head_dim);
}

void attn_scores_f16(const float* q, const uint16_t* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* scores) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t* row = k + i * stride;
    __m256 acc = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 8 <= head_dim; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8_f16(row + d), acc);
    float s = hsum(acc);
    for (; d < head_dim; ++d) s += q[d] * _cvtsh_ss(row[d]);
    scores[i] = scale * s;
  }
}

void attn_accumulate_f32(const float* w, const float* v, int64_t n, int64_t stride, int64_t head_dim, float* out) {
  for (int64_t i = 0; i < n; ++i) avx2::axpy_f32(w[i], v + i * stride, out, head_dim);
}

void attn_accumulate_f16(const float* w, const uint16_t* v, int64_t n, int64_t stride, int64_t head_dim, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t* row = v + i * stride;
    const __m256 wi = _mm256_set1_ps(w[i]);
    int64_t d = 0;
    for (; d + 8 <= head_dim; d += 8)
      _mm256_storeu_ps(out + d, _mm256_fmadd_ps(wi, load8_f16(row + d), _mm256_loadu_ps(out + d)));
    for (; d < head_dim; ++d) out[d] += w[i] * _cvtsh_ss(row[d]);
  }
}

}  // namespace chorus::kernels
