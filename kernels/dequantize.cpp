#include "kernels/dequantize.h"

#include <immintrin.h>

#include <cstring>

namespace chorus::kernels {

float fp16_to_fp32(uint16_t h) { return _cvtsh_ss(h); }
uint16_t fp32_to_fp16(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
float bf16_to_fp32(uint16_t h) {
  uint32_t u = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {

// Each function follows the GGML reference definition of its block type.

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * b[i].qs[j];
  }
}

// Element j of a 32-block sits in the low nibble of qs[j], element j+16 in the high one.
void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * ((b[i].qs[j] & 0x0F) - 8);
      y[j + 16] = d * ((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * (b[i].qs[j] & 0x0F) + m;
      y[j + 16] = d * (b[i].qs[j] >> 4) + m;
    }
  }
}

// Q5: the 5th bit of element j is bit j of the 32-bit little-endian qh.
void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < 16; ++j) {
      const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = d * (lo - 16);
      y[j + 16] = d * (hi - 16);
    }
  }
}

void dequantize_q5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < 16; ++j) {
      const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = d * lo + m;
      y[j + 16] = d * hi + m;
    }
  }
}

// Q4_K: 8 sub-blocks of 32; each 64-element half-pair shares 32 qs bytes
// (low nibbles = first sub-block, high nibbles = second). w = d*sc*q - dmin*m.
void dequantize_q4_K(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int pair = 0; pair < 4; ++pair, q += 32, y += 64) {
      uint8_t sc0, m0, sc1, m1;
      k_quant_scale_min(2 * pair, b[i].scales, &sc0, &m0);
      k_quant_scale_min(2 * pair + 1, b[i].scales, &sc1, &m1);
      const float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
      for (int l = 0; l < 32; ++l) y[l] = d0 * (q[l] & 0x0F) - min0;
      for (int l = 0; l < 32; ++l) y[32 + l] = d1 * (q[l] >> 4) - min1;
    }
  }
}

// Q5_K: as Q4_K, with the 5th bit of element l of sub-block s in bit s of qh[l].
void dequantize_q5_K(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    const uint8_t* qh = b[i].qh;
    for (int pair = 0; pair < 4; ++pair, q += 32, y += 64) {
      uint8_t sc0, m0, sc1, m1;
      k_quant_scale_min(2 * pair, b[i].scales, &sc0, &m0);
      k_quant_scale_min(2 * pair + 1, b[i].scales, &sc1, &m1);
      const float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
      const int bit0 = 2 * pair, bit1 = 2 * pair + 1;
      for (int l = 0; l < 32; ++l) y[l] = d0 * ((q[l] & 0x0F) | (((qh[l] >> bit0) & 1) << 4)) - min0;
      for (int l = 0; l < 32; ++l) y[32 + l] = d1 * ((q[l] >> 4) | (((qh[l] >> bit1) & 1) << 4)) - min1;
    }
  }
}

// Q6_K: two halves of 128 elements; in a half, element l + 32k (l < 32, k < 4)
// takes its low 4 bits from ql[l + 32(k%2)] (low nibble for k < 2, high for
// k >= 2) and its top 2 bits from bits 2k..2k+1 of qh[l]; one int8 scale per
// 16 elements. w = d*sc*(q-32).
void dequantize_q6_K(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q0 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[s] * q0;
        y[l + 32] = d * sc[s + 2] * q1;
        y[l + 64] = d * sc[s + 4] * q2;
        y[l + 96] = d * sc[s + 6] * q3;
      }
    }
  }
}

void dequantize_q8_K(const BlockQ8_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256)
    for (int j = 0; j < 256; ++j) y[j] = b[i].d * b[i].qs[j];
}

}  // namespace

bool can_dequantize(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K: case GgmlType::Q8_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(s[i]);
      return;
    }
    case GgmlType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(s[i]);
      return;
    }
    case GgmlType::Q8_0: return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n / 32);
    case GgmlType::Q4_0: return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n / 32);
    case GgmlType::Q4_1: return dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, n / 32);
    case GgmlType::Q5_0: return dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, n / 32);
    case GgmlType::Q5_1: return dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, n / 32);
    case GgmlType::Q4_K: return dequantize_q4_K(static_cast<const BlockQ4_K*>(src), dst, n / 256);
    case GgmlType::Q5_K: return dequantize_q5_K(static_cast<const BlockQ5_K*>(src), dst, n / 256);
    case GgmlType::Q6_K: return dequantize_q6_K(static_cast<const BlockQ6_K*>(src), dst, n / 256);
    case GgmlType::Q8_K: return dequantize_q8_K(static_cast<const BlockQ8_K*>(src), dst, n / 256);
    default:
      // Callers check can_dequantize first; reaching here is a bug.
      std::memset(dst, 0, static_cast<size_t>(n) * 4);
      return;
  }
}

}  // namespace chorus::kernels
