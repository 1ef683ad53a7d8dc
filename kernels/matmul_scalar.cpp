// The scalar reference matmul: the definition every SIMD path is tested against.
#include <cstring>
#include <vector>

#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"

namespace chorus::kernels {

namespace {

// Float weights (and types without an integer kernel): dequantize the row
// once, then one dot product per token.
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

// Integer quants of one 32-block in element order, and how the block maps
// them back to values: w = scale * (q + offset) + min.
struct UnpackedBlock {
  int q[32];
  int offset;
  float scale;
  float min;
};

void unpack(const BlockQ8_0& b, UnpackedBlock& u) {
  for (int j = 0; j < 32; ++j) u.q[j] = b.qs[j];
  u.offset = 0, u.scale = fp16_to_fp32(b.d), u.min = 0.0f;
}
void unpack(const BlockQ4_0& b, UnpackedBlock& u) {
  for (int j = 0; j < 16; ++j) u.q[j] = b.qs[j] & 0x0F, u.q[j + 16] = b.qs[j] >> 4;
  u.offset = -8, u.scale = fp16_to_fp32(b.d), u.min = 0.0f;
}
void unpack(const BlockQ4_1& b, UnpackedBlock& u) {
  for (int j = 0; j < 16; ++j) u.q[j] = b.qs[j] & 0x0F, u.q[j + 16] = b.qs[j] >> 4;
  u.offset = 0, u.scale = fp16_to_fp32(b.d), u.min = fp16_to_fp32(b.m);
}
template <typename Block>
void unpack_q5(const Block& b, UnpackedBlock& u) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int j = 0; j < 16; ++j) {
    u.q[j] = (b.qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    u.q[j + 16] = (b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
  }
  u.scale = fp16_to_fp32(b.d);
}
void unpack(const BlockQ5_0& b, UnpackedBlock& u) {
  unpack_q5(b, u);
  u.offset = -16, u.min = 0.0f;
}
void unpack(const BlockQ5_1& b, UnpackedBlock& u) {
  unpack_q5(b, u);
  u.offset = 0, u.min = fp16_to_fp32(b.m);
}

// Per block: an exact integer dot product, scaled once:
//   sum_j w_j x_j ≈ scale*d_x * (sum_j q_j qx_j + offset * sum_j qx_j) + min * d_x*sum_j qx_j
template <typename Block>
void rows_q8_activations(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  const int64_t nb = a.w.cols / 32;
  const auto* blocks = static_cast<const Block*>(a.w.data);
  UnpackedBlock u;
  for (int64_t o = row_begin; o < row_end; ++o) {
    const Block* wr = blocks + o * nb;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const ActivationBlockQ8* xr = a.xq + t * nb;
      float s = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        unpack(wr[b], u);
        int dot = 0;
        for (int j = 0; j < 32; ++j) dot += u.q[j] * xr[b].qs[j];
        s += (u.scale * xr[b].d) * static_cast<float>(dot + u.offset * xr[b].sum) +
             u.min * (xr[b].d * static_cast<float>(xr[b].sum));
      }
      a.y[t * a.w.rows + o] = s;
    }
  }
}

}  // namespace

bool uses_q8_activations(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q5_0: case GgmlType::Q5_1:
      return true;
    default:
      return false;
  }
}

MatmulRowsFn matmul_rows_scalar(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: return rows_q8_activations<BlockQ8_0>;
    case GgmlType::Q4_0: return rows_q8_activations<BlockQ4_0>;
    case GgmlType::Q4_1: return rows_q8_activations<BlockQ4_1>;
    case GgmlType::Q5_0: return rows_q8_activations<BlockQ5_0>;
    case GgmlType::Q5_1: return rows_q8_activations<BlockQ5_1>;
    default: return can_dequantize(type) ? rows_dequantized : nullptr;
  }
}

}  // namespace chorus::kernels
