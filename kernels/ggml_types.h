// Tensor element types with the GGUF/GGML numbering and block layouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace chorus::kernels {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35,
};

struct TypeTraits {
  const char* name;
  uint32_t block_elems;  // elements per block (1 for plain types)
  uint32_t block_bytes;  // bytes per block
};

// Returns nullptr for a number that is not a known GGML type.
const TypeTraits* type_traits(uint32_t type);
const char* type_name(GgmlType type);
// Bytes of a row of n elements; n must be a multiple of the block size.
size_t row_bytes(GgmlType type, int64_t n);

// Block layouts, bit for bit as in GGUF files.
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[16]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct BlockQ8_K { float d; int8_t qs[256]; int16_t bsums[16]; };
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block, packed in
// its 12 scale bytes: sub-blocks 0-3 hold their 6 bits in the low bits of bytes
// j and j+4; sub-blocks 4-7 keep their low 4 bits in byte j+4 and their top 2
// bits in the spare top bits of bytes j-4 (scale) and j (min).
inline void k_quant_scale_min(int j, const uint8_t* scales, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4);
    *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

// All 8 scales and mins at once, four bytes per 32-bit operation: the same
// values as k_quant_scale_min(0..7), for kernels that decode a block's scales
// once per row (an eighth of the scalar work).
inline void k_quant_scales_mins(const uint8_t* scales, uint8_t scale[8], uint8_t min[8]) {
  uint32_t a, b, c;
  std::memcpy(&a, scales, 4);
  std::memcpy(&b, scales + 4, 4);
  std::memcpy(&c, scales + 8, 4);
  const uint32_t low6 = 0x3F3F3F3Fu, low4 = 0x0F0F0F0Fu, top2 = 0x30303030u;
  const uint32_t sc_lo = a & low6, sc_hi = (c & low4) | ((a >> 2) & top2);
  const uint32_t m_lo = b & low6, m_hi = ((c >> 4) & low4) | ((b >> 2) & top2);
  std::memcpy(scale, &sc_lo, 4);
  std::memcpy(scale + 4, &sc_hi, 4);
  std::memcpy(min, &m_lo, 4);
  std::memcpy(min + 4, &m_hi, 4);
}

}  // namespace chorus::kernels
