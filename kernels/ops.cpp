// The transformer ops, dispatched to the path in use. The AVX-512 path uses
// the AVX2 ops: they are memory- or latency-bound at transformer sizes.
#include "kernels/ops.h"

#include "kernels/cpu_features.h"
#include "kernels/ops_paths.h"

namespace chorus::kernels {

namespace {
bool vector_path(KernelPath path) { return path != KernelPath::kScalar; }
}  // namespace

float dot_f32(KernelPath path, const float* a, const float* b, int64_t n) {
  return vector_path(path) ? avx2::dot_f32(a, b, n) : scalar::dot_f32(a, b, n);
}

void axpy_f32(KernelPath path, float a, const float* x, float* y, int64_t n) {
  vector_path(path) ? avx2::axpy_f32(a, x, y, n) : scalar::axpy_f32(a, x, y, n);
}

void rmsnorm(KernelPath path, const float* x, const float* w, float* y, int64_t n, float eps) {
  vector_path(path) ? avx2::rmsnorm(x, w, y, n, eps) : scalar::rmsnorm(x, w, y, n, eps);
}

void rope(KernelPath path, float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  vector_path(path) ? avx2::rope(v, n_heads, head_dim, rope_dim, pos, base)
                : scalar::rope(v, n_heads, head_dim, rope_dim, pos, base);
}

void rope_halves(KernelPath path, float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base) {
  vector_path(path) ? avx2::rope_halves(v, n_heads, head_dim, rope_dim, pos, base)
                : scalar::rope_halves(v, n_heads, head_dim, rope_dim, pos, base);
}

void softmax(KernelPath path, float* x, int64_t n) { vector_path(path) ? avx2::softmax(x, n) : scalar::softmax(x, n); }

void silu_mul(KernelPath path, float* gate, const float* up, int64_t n) {
  vector_path(path) ? avx2::silu_mul(gate, up, n) : scalar::silu_mul(gate, up, n);
}

void gelu_tanh_mul(KernelPath path, float* gate, const float* up, int64_t n) {
  vector_path(path) ? avx2::gelu_tanh_mul(gate, up, n) : scalar::gelu_tanh_mul(gate, up, n);
}

}  // namespace chorus::kernels
