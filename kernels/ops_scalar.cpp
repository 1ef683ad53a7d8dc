// The scalar references of the transformer ops.
#include <cmath>
#include <vector>

#include "kernels/ops_paths.h"

namespace chorus::kernels {

void rope_cos_sin(int64_t rope_dim, int64_t pos, float base, float* cos_out, float* sin_out) {
  for (int64_t i = 0; i < rope_dim; i += 2) {
    const float freq = std::pow(base, -static_cast<float>(i) / static_cast<float>(rope_dim));
    const float angle = static_cast<float>(pos) * freq;
    cos_out[i / 2] = std::cos(angle);
    sin_out[i / 2] = std::sin(angle);
  }
}

namespace scalar {

float dot_f32(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void rope(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  thread_local std::vector<float> cs, sn;
  cs.resize(static_cast<size_t>(rope_dim / 2));
  sn.resize(static_cast<size_t>(rope_dim / 2));
  rope_cos_sin(rope_dim, pos, base, cs.data(), sn.data());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < rope_dim; i += 2) {
      float* p = v + h * head_dim + i;
      const float x0 = p[0], x1 = p[1], c = cs[i / 2], s = sn[i / 2];
      p[0] = x0 * c - x1 * s;
      p[1] = x0 * s + x1 * c;
    }
  }
}

void rope_halves(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  thread_local std::vector<float> cs, sn;
  const int64_t half = rope_dim / 2;
  cs.resize(static_cast<size_t>(half));
  sn.resize(static_cast<size_t>(half));
  rope_cos_sin(rope_dim, pos, base, cs.data(), sn.data());
  for (int64_t h = 0; h < n_heads; ++h) {
    float* p = v + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float x0 = p[i], x1 = p[i + half], c = cs[i], s = sn[i];
      p[i] = x0 * c - x1 * s;
      p[i + half] = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace scalar
}  // namespace chorus::kernels
