// Conversion of GGUF-layout rows to f32.
#pragma once

#include <cstdint>

#include "kernels/ggml_types.h"

namespace chorus::kernels {

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);

// True when dequantize_row handles the type.
bool can_dequantize(GgmlType type);
// Converts n elements (a multiple of the type's block size) starting at src into dst.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace chorus::kernels
