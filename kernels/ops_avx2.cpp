// AVX2+FMA transformer ops; each keeps the scalar reference's formula, with a
// scalar tail for lengths that are not a multiple of 8.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ops_paths.h"

namespace chorus::kernels::avx2 {

namespace {

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// e^x to about 2 ulp (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split
// in two for exactness), a degree-6 polynomial for e^r, and 2^n built in the
// exponent bits. Inputs are clamped to ±88.376, where f32 over/underflows.
__m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f)), _mm256_set1_ps(88.3762626647949f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  // n = -127 (x near the low clamp) gives exponent bits 0: the result flushes to 0.
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(er, _mm256_castsi256_ps(pow2n));
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  if (i + 8 <= n) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    i += 8;
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  const float scale = 1.0f / std::sqrt(dot_f32(x, x, n) / static_cast<float>(n) + eps);
  const __m256 sv = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

// Four pairs at a time: [x0 x1 ...]·[c c ...] + [x1 x0 ...]·[-s s ...].
void rope(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  thread_local std::vector<float> cs, sn, cos_pairs, sin_pairs;
  const size_t pairs = static_cast<size_t>(rope_dim / 2);
  cs.resize(pairs);
  sn.resize(pairs);
  rope_cos_sin(rope_dim, pos, base, cs.data(), sn.data());
  cos_pairs.resize(2 * pairs);
  sin_pairs.resize(2 * pairs);
  for (size_t k = 0; k < pairs; ++k) {
    cos_pairs[2 * k] = cos_pairs[2 * k + 1] = cs[k];
    sin_pairs[2 * k] = -sn[k];
    sin_pairs[2 * k + 1] = sn[k];
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* p = v + h * head_dim;
    int64_t i = 0;
    for (; i + 8 <= rope_dim; i += 8) {
      const __m256 x = _mm256_loadu_ps(p + i);
      const __m256 swapped = _mm256_permute_ps(x, 0xB1);  // pairs exchanged
      const __m256 rotated = _mm256_fmadd_ps(x, _mm256_loadu_ps(&cos_pairs[i]),
                                             _mm256_mul_ps(swapped, _mm256_loadu_ps(&sin_pairs[i])));
      _mm256_storeu_ps(p + i, rotated);
    }
    for (; i < rope_dim; i += 2) {
      const float x0 = p[i], x1 = p[i + 1], c = cs[i / 2], s = sn[i / 2];
      p[i] = x0 * c - x1 * s;
      p[i + 1] = x0 * s + x1 * c;
    }
  }
}

// The two halves of a head are contiguous: eight pairs are two plain loads.
void rope_halves(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  thread_local std::vector<float> cs, sn;
  const int64_t half = rope_dim / 2;
  cs.resize(static_cast<size_t>(half));
  sn.resize(static_cast<size_t>(half));
  rope_cos_sin(rope_dim, pos, base, cs.data(), sn.data());
  for (int64_t h = 0; h < n_heads; ++h) {
    float* p = v + h * head_dim;
    int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(p + i), x1 = _mm256_loadu_ps(p + i + half);
      const __m256 c = _mm256_loadu_ps(&cs[i]), s = _mm256_loadu_ps(&sn[i]);
      _mm256_storeu_ps(p + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
      _mm256_storeu_ps(p + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
    }
    for (; i < half; ++i) {
      const float x0 = p[i], x1 = p[i + half], c = cs[i], s = sn[i];
      p[i] = x0 * c - x1 * s;
      p[i + half] = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  int64_t i = 0;
  float mx = x[0];
  if (n >= 8) {
    __m256 m = _mm256_loadu_ps(x);
    for (i = 8; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    mx = hmax(m);
  }
  for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  const __m256 mv = _mm256_set1_ps(mx);
  __m256 sum_v = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(x + i, e);
    sum_v = _mm256_add_ps(sum_v, e);
  }
  float sum = hsum(sum_v);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const __m256 iv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
  for (; i < n; ++i) x[i] *= inv;
}

namespace {

// gate·up for 8 elements: silu(gate) = gate / (1 + e^(-gate)).
__m256 silu_mul8(__m256 g, __m256 u) {
  const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

// 0.5·x·(1 + tanh(u)) is x·sigmoid(2u) = x / (1 + e^(-2u)), u = √(2/π)(x + 0.044715x³).
__m256 gelu_tanh_mul8(__m256 x, __m256 u) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x), _mm256_mul_ps(x, x), x);
  const __m256 e = exp_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f * kSqrt2OverPi), inner));
  return _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

// gate = op(gate, up), 8 at a time; the last n % 8 through the same vector code
// (zero-padded), so an element's result does not depend on where it falls in
// the array (the engine applies it to a whole batch's rows at once).
template <class Op>
void gated(float* gate, const float* up, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gate + i, op(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i == n) return;
  const size_t rest = static_cast<size_t>(n - i) * sizeof(float);
  alignas(32) float g[8] = {}, u[8] = {};
  std::memcpy(g, gate + i, rest);
  std::memcpy(u, up + i, rest);
  _mm256_store_ps(g, op(_mm256_load_ps(g), _mm256_load_ps(u)));
  std::memcpy(gate + i, g, rest);
}

}  // namespace

void silu_mul(float* gate, const float* up, int64_t n) { gated(gate, up, n, silu_mul8); }

void gelu_tanh_mul(float* gate, const float* up, int64_t n) { gated(gate, up, n, gelu_tanh_mul8); }

}  // namespace chorus::kernels::avx2
