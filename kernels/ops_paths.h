// The per-path transformer ops behind kernels/ops.h. Internal to kernels/
// (and its tests). The scalar functions are the references.
#pragma once

#include <cstdint>

namespace chorus::kernels {

#define CHORUS_OPS_PATH(ns)                                                                             \
  namespace ns {                                                                                        \
  float dot_f32(const float* a, const float* b, int64_t n);                                             \
  void axpy_f32(float a, const float* x, float* y, int64_t n);                                          \
  void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);                         \
  void rope(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base);    \
  void rope_halves(float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base); \
  void softmax(float* x, int64_t n);                                                                    \
  void silu_mul(float* gate, const float* up, int64_t n);                                               \
  void gelu_tanh_mul(float* gate, const float* up, int64_t n);                                          \
  }
CHORUS_OPS_PATH(scalar)
CHORUS_OPS_PATH(avx2)
#undef CHORUS_OPS_PATH

// The rotation angle's cosine and sine for pair i (i < rope_dim/2) at `pos`,
// shared by every path so they rotate by the same numbers.
void rope_cos_sin(int64_t rope_dim, int64_t pos, float base, float* cos_out, float* sin_out);

}  // namespace chorus::kernels
