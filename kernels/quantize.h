// f32 rows to GGUF block types, following the GGML reference definitions
// bit for bit, so a file chorus quantizes holds the same bytes as one
// llama.cpp quantizes.
#pragma once

#include <cstdint>

#include "kernels/ggml_types.h"

namespace chorus::kernels {

// Round-to-nearest-even with quiet NaNs, as ggml's fp32→bf16.
uint16_t fp32_to_bf16(float f);

// True for F32, F16, BF16, Q8_0, Q4_0, Q4_1.
bool can_quantize(GgmlType type);
// Writes row_bytes(type, n) bytes to dst; n must be a multiple of the block size.
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace chorus::kernels
