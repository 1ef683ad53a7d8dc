// Attention score and value products over one run of cached K/V rows, for
// K/V stored as f32 or f16. Pure functions on raw memory, AVX2 (the baseline
// ISA) on every path: they are short next to the matmuls.
#pragma once

#include <cstdint>

namespace chorus::kernels {

// scores[i] = scale * dot(q, k_i[0:head_dim]) for i < n, k_i = k + i * stride.
void attn_scores_f32(const float* q, const float* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* scores);
void attn_scores_f16(const float* q, const uint16_t* k, int64_t n, int64_t stride, int64_t head_dim, float scale,
                     float* scores);
// out[0:head_dim] += sum_i w[i] * v_i[0:head_dim], v_i = v + i * stride.
void attn_accumulate_f32(const float* w, const float* v, int64_t n, int64_t stride, int64_t head_dim, float* out);
void attn_accumulate_f16(const float* w, const uint16_t* v, int64_t n, int64_t stride, int64_t head_dim, float* out);

}  // namespace chorus::kernels
