// Element-wise and row operations of the transformer, on raw f32 memory, on
// the given path.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace chorus::kernels {

float dot_f32(KernelPath path, const float* a, const float* b, int64_t n);
// y += a * x
void axpy_f32(KernelPath path, float a, const float* x, float* y, int64_t n);
// y = x / rms(x) * w
void rmsnorm(KernelPath path, const float* x, const float* w, float* y, int64_t n, float eps);
// Rotates adjacent pairs (v[2i], v[2i+1]) of the first rope_dim elements of each
// head by pos * base^(-2i/rope_dim) (llama2.c's rotation, ggml's "normal" mode).
void rope(KernelPath path, float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base);
// Rotates the pairs (v[i], v[i + rope_dim/2]) of each head by the same angles
// (GPT-NeoX's rotation, ggml's "neox" mode: Qwen2, Gemma 3).
void rope_halves(KernelPath path, float* v, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t pos, float base);
// In place, numerically stable.
void softmax(KernelPath path, float* x, int64_t n);
// gate = silu(gate) * up
void silu_mul(KernelPath path, float* gate, const float* up, int64_t n);
// gate = gelu(gate) * up, GELU by its tanh approximation (GeGLU: Gemma)
void gelu_tanh_mul(KernelPath path, float* gate, const float* up, int64_t n);

}  // namespace chorus::kernels
