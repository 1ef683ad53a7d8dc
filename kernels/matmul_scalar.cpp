// The scalar reference matmul: the definition every SIMD path is tested against.
#include <cstring>
#include <vector>

#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"

namespace chorus::kernels {

namespace {

// Float weights, and quantized weights with f32 activations: dequantize the
// row once, then one dot product per token.
void rows_dequantized(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(a.w.cols));
  const size_t rb = row_bytes(a.w.type, a.w.cols);
  const auto* base = static_cast<const uint8_t*>(a.w.data);
  for (int64_t o = row_begin; o < row_end; ++o) {
    dequantize_row(a.w.type, base + o * rb, row.data(), a.w.cols);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const float* x = a.x + t * a.w.cols;
      float s = 0.0f;
      for (int64_t i = 0; i < a.w.cols; ++i) s += row[i] * x[i];
      a.y[t * a.w.rows + o] = s;
    }
  }
}

// Integer quants of one 32-element sub-block in element order, and how they
// map back to values: w = scale * (q + offset) + min. Where a type has integer
// sub-scales (k-quants), they are folded into q so the dot stays integer.
struct UnpackedBlock {
  int q[32];
  int offset;
  float scale;
  float min;
};

// Sub-block b of a row. 32-element block types: block b.
void unpack(const BlockQ8_0* row, int64_t b, UnpackedBlock& u) {
  for (int j = 0; j < 32; ++j) u.q[j] = row[b].qs[j];
  u.offset = 0, u.scale = fp16_to_fp32(row[b].d), u.min = 0.0f;
}
void unpack(const BlockQ4_0* row, int64_t b, UnpackedBlock& u) {
  for (int j = 0; j < 16; ++j) u.q[j] = row[b].qs[j] & 0x0F, u.q[j + 16] = row[b].qs[j] >> 4;
  u.offset = -8, u.scale = fp16_to_fp32(row[b].d), u.min = 0.0f;
}
void unpack(const BlockQ4_1* row, int64_t b, UnpackedBlock& u) {
  for (int j = 0; j < 16; ++j) u.q[j] = row[b].qs[j] & 0x0F, u.q[j + 16] = row[b].qs[j] >> 4;
  u.offset = 0, u.scale = fp16_to_fp32(row[b].d), u.min = fp16_to_fp32(row[b].m);
}
template <typename Block>
void unpack_q5(const Block& blk, UnpackedBlock& u) {
  uint32_t qh;
  std::memcpy(&qh, blk.qh, 4);
  for (int j = 0; j < 16; ++j) {
    u.q[j] = (blk.qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    u.q[j + 16] = (blk.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
  }
  u.scale = fp16_to_fp32(blk.d);
}
void unpack(const BlockQ5_0* row, int64_t b, UnpackedBlock& u) {
  unpack_q5(row[b], u);
  u.offset = -16, u.min = 0.0f;
}
void unpack(const BlockQ5_1* row, int64_t b, UnpackedBlock& u) {
  unpack_q5(row[b], u);
  u.offset = 0, u.min = fp16_to_fp32(row[b].m);
}
// k-quants: sub-block s = b % 8 of super-block b / 8 (layouts as in dequantize.cpp).
void unpack(const BlockQ4_K* row, int64_t b, UnpackedBlock& u) {
  const BlockQ4_K& blk = row[b / 8];
  const int s = static_cast<int>(b % 8);
  uint8_t sc, m;
  k_quant_scale_min(s, blk.scales, &sc, &m);
  const uint8_t* q = blk.qs + 32 * (s / 2);
  for (int l = 0; l < 32; ++l) u.q[l] = sc * (s % 2 == 0 ? q[l] & 0x0F : q[l] >> 4);
  u.offset = 0, u.scale = fp16_to_fp32(blk.d), u.min = -fp16_to_fp32(blk.dmin) * m;
}
void unpack(const BlockQ5_K* row, int64_t b, UnpackedBlock& u) {
  const BlockQ5_K& blk = row[b / 8];
  const int s = static_cast<int>(b % 8);
  uint8_t sc, m;
  k_quant_scale_min(s, blk.scales, &sc, &m);
  const uint8_t* q = blk.qs + 32 * (s / 2);
  for (int l = 0; l < 32; ++l)
    u.q[l] = sc * ((s % 2 == 0 ? q[l] & 0x0F : q[l] >> 4) | (((blk.qh[l] >> s) & 1) << 4));
  u.offset = 0, u.scale = fp16_to_fp32(blk.d), u.min = -fp16_to_fp32(blk.dmin) * m;
}
void unpack(const BlockQ6_K* row, int64_t b, UnpackedBlock& u) {
  const BlockQ6_K& blk = row[b / 8];
  const int half = static_cast<int>(b % 8) / 4, k = static_cast<int>(b % 4);
  const uint8_t* ql = blk.ql + 64 * half + 32 * (k % 2);
  const uint8_t* qh = blk.qh + 32 * half;
  for (int l = 0; l < 32; ++l) {
    const int low4 = k < 2 ? ql[l] & 0x0F : ql[l] >> 4;
    const int q = low4 | (((qh[l] >> (2 * k)) & 3) << 4);
    u.q[l] = blk.scales[2 * (b % 8) + l / 16] * (q - 32);
  }
  u.offset = 0, u.scale = fp16_to_fp32(blk.d), u.min = 0.0f;
}

// Per 32-element sub-block: an exact integer dot product, scaled once:
//   sum_j w_j x_j ≈ scale*d_x * (sum_j q_j qx_j + offset * sum_j qx_j) + min * d_x*sum_j qx_j
// (int8 or 16-bit qx: the largest 16-bit dot, 32·4096·16383, fits an int).
template <typename Block, class Quants>
void rows_integer_activations(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  const int64_t n_sub = a.w.cols / 32;
  const size_t rb = row_bytes(a.w.type, a.w.cols);
  const auto* base = static_cast<const uint8_t*>(a.w.data);
  const QuantizedActivations<Quants> xq = a.quantized<Quants>();
  UnpackedBlock u;
  for (int64_t o = row_begin; o < row_end; ++o) {
    const auto* wr = reinterpret_cast<const Block*>(base + o * rb);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const QuantizedActivations<Quants> xr = xq.from_block(t * n_sub);
      float s = 0.0f;
      for (int64_t b = 0; b < n_sub; ++b) {
        unpack(wr, b, u);
        int dot = 0;
        for (int j = 0; j < 32; ++j) dot += u.q[j] * xr.qs[b].q[Quants::slot(j)];
        s += (u.scale * xr.d[b]) * static_cast<float>(dot + u.offset * xr.sum[b]) + u.min * xr.d_sum[b];
      }
      a.y[t * a.w.rows + o] = s;
    }
  }
}

template <class Quants>
MatmulRowsFn integer_activation_rows(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: return rows_integer_activations<BlockQ8_0, Quants>;
    case GgmlType::Q4_0: return rows_integer_activations<BlockQ4_0, Quants>;
    case GgmlType::Q4_1: return rows_integer_activations<BlockQ4_1, Quants>;
    case GgmlType::Q5_0: return rows_integer_activations<BlockQ5_0, Quants>;
    case GgmlType::Q5_1: return rows_integer_activations<BlockQ5_1, Quants>;
    case GgmlType::Q4_K: return rows_integer_activations<BlockQ4_K, Quants>;
    case GgmlType::Q5_K: return rows_integer_activations<BlockQ5_K, Quants>;
    case GgmlType::Q6_K: return rows_integer_activations<BlockQ6_K, Quants>;
    default: return nullptr;
  }
}

}  // namespace

bool takes_integer_activations(GgmlType type) { return integer_activation_rows<BlockQuantsQ8>(type) != nullptr; }

bool takes_eight_token_groups(KernelPath path, GgmlType type, ActivationPrecision precision) {
  if (path == KernelPath::kScalar || !takes_integer_activations(type)) return false;
  if (precision == ActivationPrecision::kInt16) return true;
  return precision == ActivationPrecision::kInt8 && (type != GgmlType::Q8_0 || path == KernelPath::kAvx512);
}

bool takes_lane_order_activations(KernelPath path, GgmlType type) {
  return path != KernelPath::kScalar && takes_integer_activations(type);
}

MatmulRowsFn matmul_rows_scalar(GgmlType type, ActivationPrecision activations) {
  MatmulRowsFn fn = nullptr;
  if (activations == ActivationPrecision::kInt8) fn = integer_activation_rows<BlockQuantsQ8>(type);
  if (activations == ActivationPrecision::kInt16) fn = integer_activation_rows<BlockQuantsQ16>(type);
  // Float weights, and quantized weights with f32 activations.
  if (!fn && can_dequantize(type)) fn = rows_dequantized;
  return fn;
}

}  // namespace chorus::kernels
