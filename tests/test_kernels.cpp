// The kernels against their scalar references and the GGML block definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/quantized_activations.h"
#include "kernels/attention.h"
#include "kernels/cpu_features.h"
#include "kernels/dequantize.h"
#include "kernels/gemm_f32.h"
#include "kernels/lane_order_activations.h"
#include "kernels/kernel_config.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/quantize.h"

namespace chorus::kernels {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Runs `fn` once on every path this CPU has, with that path forced.
template <class Fn>
void for_each_simd_path(Fn fn) {
  for (KernelPath p : {KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(p)) continue;
    SCOPED_TRACE(kernel_path_name(p));
    fn(p);
  }
}

// ---- dispatch ---------------------------------------------------------------

TEST(CpuFeatures, PathsParseAndForce) {
  EXPECT_EQ(parse_kernel_path("avx512"), KernelPath::kAvx512);
  EXPECT_EQ(parse_kernel_path("avx2"), KernelPath::kAvx2);
  EXPECT_EQ(parse_kernel_path("scalar"), KernelPath::kScalar);
  EXPECT_FALSE(parse_kernel_path("sse"));
  EXPECT_TRUE(kernel_path_available(KernelPath::kScalar));
  EXPECT_TRUE(kernel_path_available(best_kernel_path()));
  EXPECT_STREQ(kernel_path_name(KernelPath::kScalar), "scalar");
  EXPECT_TRUE(kernel_path_available(default_kernel_config().path));
  EXPECT_EQ(parse_activation_precision("int8"), ActivationPrecision::kInt8);
  EXPECT_EQ(parse_activation_precision("f32"), ActivationPrecision::kF32);
  EXPECT_EQ(parse_activation_precision("int16"), ActivationPrecision::kInt16);
  EXPECT_STREQ(activation_precision_name(ActivationPrecision::kInt16), "int16");
  EXPECT_FALSE(parse_activation_precision("int9"));
}

// ---- dequantize: hand-built blocks --------------------------------------------

TEST(Dequantize, Q8_0) {
  BlockQ8_0 b{};
  b.d = fp32_to_fp16(0.5f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  float y[32];
  dequantize_row(GgmlType::Q8_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * (j * 8 - 128));
}

TEST(Dequantize, Q4_0AndQ4_1) {
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(2.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(GgmlType::Q4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * (j - 8));
    EXPECT_EQ(y[j + 16], 2.0f * (15 - j - 8));
  }
  BlockQ4_1 c{};
  c.d = fp32_to_fp16(0.25f);
  c.m = fp32_to_fp16(-1.0f);
  std::memcpy(c.qs, b.qs, 16);
  dequantize_row(GgmlType::Q4_1, &c, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * j - 1.0f);
    EXPECT_EQ(y[j + 16], 0.25f * (15 - j) - 1.0f);
  }
}

TEST(Dequantize, Q5_0AndQ5_1) {
  BlockQ5_0 b{};
  b.d = fp32_to_fp16(1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const uint32_t qh = 0xA5F0'0F5Au;  // bit j: 5th bit of element j
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  dequantize_row(GgmlType::Q5_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) {
    const int low4 = j < 16 ? j : 15 - (j - 16);
    const int q = low4 | static_cast<int>(((qh >> j) & 1) << 4);
    EXPECT_EQ(y[j], static_cast<float>(q - 16)) << j;
  }
  BlockQ5_1 c{};
  c.d = fp32_to_fp16(0.5f);
  c.m = fp32_to_fp16(3.0f);
  std::memcpy(c.qs, b.qs, 16);
  std::memcpy(c.qh, b.qh, 4);
  dequantize_row(GgmlType::Q5_1, &c, y, 32);
  for (int j = 0; j < 32; ++j) {
    const int low4 = j < 16 ? j : 15 - (j - 16);
    const int q = low4 | static_cast<int>(((qh >> j) & 1) << 4);
    EXPECT_EQ(y[j], 0.5f * q + 3.0f) << j;
  }
}

// Packs 8 six-bit scales and mins the way Q4_K/Q5_K store them.
void pack_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0F) | ((m[j + 4] & 0x0F) << 4));
  }
}

TEST(Dequantize, KQuantScalesUnpack) {
  const uint8_t sc[8] = {1, 17, 33, 63, 0, 45, 62, 31}, m[8] = {63, 2, 40, 5, 60, 16, 33, 48};
  uint8_t packed[12];
  pack_k_scales(sc, m, packed);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, mm;
    k_quant_scale_min(j, packed, &s, &mm);
    EXPECT_EQ(s, sc[j]);
    EXPECT_EQ(mm, m[j]);
  }
}

// The lane order the SIMD f32-activation tiles unpack weights in, and the
// activations rearranged to it: element by element, with each block's sums.
TEST(LaneOrderActivations, HoldEachBlockInTheTilesUnpackOrder) {
  // unpack{lo,hi}_epi8 then unpack{lo,hi}_epi16 of bytes 0..31, written out.
  const int expected[32] = {0,  1,  2,  3,  16, 17, 18, 19, 4,  5,  6,  7,  20, 21, 22, 23,
                            8,  9,  10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31};
  for (int i = 0; i < 32; ++i) EXPECT_EQ(lane_order_element(i), expected[i]) << i;
  const int64_t cols = 96, n_tokens = 3;
  std::vector<float> x(cols * n_tokens);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  LaneOrderActivationsBuffer buffer;
  buffer.resize(n_tokens * cols / 32);
  for (int64_t t = n_tokens - 1; t >= 0; --t) buffer.fill_token(x.data() + t * cols, cols, t);
  const LaneOrderActivations view = buffer.view();
  for (int64_t blk = 0; blk < n_tokens * cols / 32; ++blk)
    for (int lane = 0; lane < 8; ++lane) {
      float sum = 0.0f;
      for (int g = 0; g < 4; ++g) {
        const float v = view.x[32 * blk + 8 * g + lane];
        ASSERT_EQ(v, x[32 * blk + lane_order_element(8 * g + lane)]) << blk << " " << g << " " << lane;
        sum = g == 0 ? v : sum + v;
      }
      EXPECT_NEAR(view.sums[8 * blk + lane], sum, 1e-6f) << blk << " " << lane;
    }
}

// The word-wise unpack of all eight against the per-sub-block one, on random
// packed bytes (every bit pattern of the 12 bytes is a valid block).
TEST(Dequantize, KQuantScalesUnpackAllEightAtOnce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    uint8_t packed[12];
    for (uint8_t& byte : packed) byte = static_cast<uint8_t>(rng());
    uint8_t sc[8], m[8];
    k_quant_scales_mins(packed, sc, m);
    for (int j = 0; j < 8; ++j) {
      uint8_t s, mm;
      k_quant_scale_min(j, packed, &s, &mm);
      ASSERT_EQ(sc[j], s) << "trial " << trial << " sub-block " << j;
      ASSERT_EQ(m[j], mm) << "trial " << trial << " sub-block " << j;
    }
  }
}

TEST(Dequantize, Q4_KAndQ5_K) {
  const uint8_t sc[8] = {1, 2, 3, 4, 60, 50, 40, 33}, m[8] = {5, 0, 7, 63, 20, 10, 1, 2};
  BlockQ4_K b{};
  b.d = fp32_to_fp16(0.5f);
  b.dmin = fp32_to_fp16(0.25f);
  pack_k_scales(sc, m, b.scales);
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i * 7) & 0xFF);
  float y[256];
  dequantize_row(GgmlType::Q4_K, &b, y, 256);
  BlockQ5_K c{};
  c.d = b.d, c.dmin = b.dmin;
  std::memcpy(c.scales, b.scales, 12);
  std::memcpy(c.qs, b.qs, 128);
  for (int l = 0; l < 32; ++l) c.qh[l] = static_cast<uint8_t>(l * 37 + 11);
  float z[256];
  dequantize_row(GgmlType::Q5_K, &c, z, 256);
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32, l = e % 32;  // sub-block s uses nibble s%2 of qs[32*(s/2) + l]
    const uint8_t byte = b.qs[32 * (sub / 2) + l];
    const int q4 = sub % 2 == 0 ? byte & 0x0F : byte >> 4;
    EXPECT_EQ(y[e], 0.5f * sc[sub] * q4 - 0.25f * m[sub]) << e;
    const int q5 = q4 | (((c.qh[l] >> sub) & 1) << 4);
    EXPECT_EQ(z[e], 0.5f * sc[sub] * q5 - 0.25f * m[sub]) << e;
  }
}

TEST(Dequantize, Q6_K) {
  BlockQ6_K b{};
  b.d = fp32_to_fp16(0.125f);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i * 9 - 70);
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i * 13 + 5);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(i * 29 + 3);
  float y[256];
  dequantize_row(GgmlType::Q6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t lbyte = b.ql[64 * half + l + 32 * (k % 2)];
    const int low4 = k < 2 ? lbyte & 0x0F : lbyte >> 4;
    const int high2 = (b.qh[32 * half + l] >> (2 * k)) & 3;
    const int q = (low4 | (high2 << 4)) - 32;
    EXPECT_EQ(y[e], 0.125f * b.scales[e / 16] * q) << e;
  }
}

TEST(Dequantize, Q8_KAndFloats) {
  BlockQ8_K b{};
  b.d = 0.75f;
  for (int i = 0; i < 256; ++i) b.qs[i] = static_cast<int8_t>(i - 128);
  std::vector<float> y(256);
  dequantize_row(GgmlType::Q8_K, &b, y.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], 0.75f * (i - 128));
  const uint16_t h[3] = {0x3C00, 0xC000, 0x7BFF}, bf[3] = {0x3F80, 0xC040, 0x0001};
  float f[3];
  dequantize_row(GgmlType::F16, h, f, 3);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], 65504.0f);
  dequantize_row(GgmlType::BF16, bf, f, 3);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -3.0f);
  EXPECT_EQ(f[2], std::ldexp(1.0f, -133));
}

// ---- quantize: exact bytes and round trips --------------------------------------

TEST(Quantize, HalfAndBrainFloatRoundToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie → even
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie → even
  auto from_bits = [](uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; };
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3F808000)), 0x3F80);  // tie → even (down)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3F818000)), 0x3F82);  // tie → even (up)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3F808001)), 0x3F81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7F800001)), 0x7FC0);  // NaN stays NaN, quiet
  EXPECT_EQ(fp32_to_bf16(from_bits(0xFF800000)), 0xFF80);  // -inf
  const float x[2] = {1.0f, -2.5f};
  uint16_t h[2];
  quantize_row(GgmlType::BF16, x, h, 2);
  EXPECT_EQ(h[0], 0x3F80);
  EXPECT_EQ(h[1], 0xC020);
}

TEST(Quantize, Q4_0ExactBytes) {
  // x_j = j - 16: the largest magnitude is -16, so d = -16 / -8 = 2 and
  // q = trunc(x/2 + 8.5), capped at 15.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ4_0 b;
  quantize_row(GgmlType::Q4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x4000);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j + 1) / 2, hi = std::min(15, 8 + (j + 1) / 2);
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
}

TEST(Quantize, Q4_1ExactBytes) {
  // x_j = j: min 0, d = 31/15, q = round(j·15/31) (no ties).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j);
  BlockQ4_1 b;
  quantize_row(GgmlType::Q4_1, x, &b, 32);
  EXPECT_EQ(b.d, fp32_to_fp16(31.0f / 15.0f));
  EXPECT_EQ(b.m, 0);
  for (int j = 0; j < 16; ++j) {
    const int lo = static_cast<int>(std::lround(j * 15.0 / 31.0));
    const int hi = static_cast<int>(std::lround((j + 16) * 15.0 / 31.0));
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
}

TEST(Quantize, Q8_0ExactBytes) {
  // amax 127 → d = 1: the quants are the rounded values (half away from zero).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = j == 0 ? -127.0f : static_cast<float>(j) * 3.25f - 50.0f;
  BlockQ8_0 b;
  quantize_row(GgmlType::Q8_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[0], -127);
  for (int j = 1; j < 32; ++j) EXPECT_EQ(b.qs[j], static_cast<int>(std::lround(x[j]))) << j;
  const float zeros[32] = {};
  quantize_row(GgmlType::Q8_0, zeros, &b, 32);
  EXPECT_EQ(b.d, 0);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.qs[j], 0);
}

TEST(Quantize, RoundTripErrorBounds) {
  const int64_t n = 32 * 64;
  const std::vector<float> x = random_floats(n, 7, 2.0f);
  std::vector<float> y(n);
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::F16, GgmlType::BF16}) {
    SCOPED_TRACE(type_name(type));
    std::vector<uint8_t> q(row_bytes(type, n));
    quantize_row(type, x.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    for (int64_t b = 0; b < n / 32; ++b) {
      float amax = 0.0f, mn = x[b * 32], mx = x[b * 32];
      for (int j = 0; j < 32; ++j) {
        amax = std::max(amax, std::fabs(x[b * 32 + j]));
        mn = std::min(mn, x[b * 32 + j]);
        mx = std::max(mx, x[b * 32 + j]);
      }
      for (int j = 0; j < 32; ++j) {
        const float v = x[b * 32 + j], err = std::fabs(y[b * 32 + j] - v);
        float bound = 0.0f;
        // Half a step, plus the step's own f16 rounding over the whole range.
        switch (type) {
          case GgmlType::Q8_0: bound = amax / 127 * (0.5f + 128 * 0x1p-11f); break;
          case GgmlType::Q4_0: bound = amax / 8 * (1.0f + 8 * 0x1p-11f); break;  // the +max edge clamps: one step
          case GgmlType::Q4_1: bound = (mx - mn) / 15 * (0.5f + 16 * 0x1p-11f) + std::fabs(mn) * 0x1p-11f; break;
          case GgmlType::F16: bound = std::fabs(v) * 0x1p-11f; break;
          case GgmlType::BF16: bound = std::fabs(v) * 0x1p-8f; break;
          default: break;
        }
        EXPECT_LE(err, bound * 1.0001f + 1e-7f) << "block " << b << " elem " << j;
      }
    }
  }
}

// ---- matmul: every SIMD path against the scalar reference -----------------------

// A random matrix in `type`: quantized from random floats where chorus can
// quantize the type, else random bytes with sane scale fields.
std::vector<uint8_t> random_weights(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  const size_t rb = row_bytes(type, cols);
  std::vector<uint8_t> w(rb * rows);
  if (can_quantize(type)) {
    const std::vector<float> f = random_floats(static_cast<size_t>(rows * cols), seed);
    for (int64_t o = 0; o < rows; ++o) quantize_row(type, f.data() + o * cols, w.data() + o * rb, cols);
    return w;
  }
  std::mt19937 rng(seed);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  const TypeTraits* t = type_traits(static_cast<uint32_t>(type));
  const size_t n_blocks = w.size() / t->block_bytes;
  for (size_t i = 0; i < n_blocks; ++i) {
    uint8_t* blk = w.data() + i * t->block_bytes;
    auto put = [&](size_t offset) {
      const uint16_t h = fp32_to_fp16(scale(rng));
      std::memcpy(blk + offset, &h, 2);
    };
    switch (type) {
      case GgmlType::Q5_0: put(0); break;
      case GgmlType::Q5_1: put(0); put(2); break;
      case GgmlType::Q4_K: case GgmlType::Q5_K: put(0); put(2); break;
      case GgmlType::Q6_K: put(offsetof(BlockQ6_K, d)); break;
      default: ADD_FAILURE() << "no generator for " << type_name(type);
    }
  }
  return w;
}

// Σ_i |W[o][i]|·|x[t][i]|, the scale of the rounding error of y[t][o].
std::vector<float> magnitudes(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> row(w.cols), m(w.rows * n_tokens);
  const size_t rb = row_bytes(w.type, w.cols);
  for (int64_t o = 0; o < w.rows; ++o) {
    dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + o * rb, row.data(), w.cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double s = 0;
      for (int64_t i = 0; i < w.cols; ++i) s += std::fabs(row[i] * x[t * w.cols + i]);
      m[t * w.rows + o] = static_cast<float>(s);
    }
  }
  return m;
}

constexpr ActivationPrecision kAllPrecisions[] = {ActivationPrecision::kF32, ActivationPrecision::kInt16,
                                                 ActivationPrecision::kInt8};

struct MatmulCase {
  GgmlType type;
  std::vector<int64_t> cols;
};

void check_paths_agree(ActivationPrecision precision, GgmlType type, int64_t rows, int64_t cols, int64_t n_tokens,
                       uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << type_name(type) << " rows " << rows << " cols " << cols << " tokens "
                                    << n_tokens);
  const std::vector<uint8_t> data = random_weights(type, rows, cols, seed);
  const WeightMatrix w{type, rows, cols, data.data()};
  const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), seed + 1);
  std::vector<float> ref(rows * n_tokens, NAN), y(rows * n_tokens, NAN);
  matmul({KernelPath::kScalar, precision}, w, x.data(), n_tokens, ref.data());
  const std::vector<float> mag = magnitudes(w, x, n_tokens);
  for_each_simd_path([&](KernelPath p) {
    std::fill(y.begin(), y.end(), NAN);
    matmul({p, precision}, w, x.data(), n_tokens, y.data());
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], ref[i], 2e-6f * mag[i] + 1e-6f) << "token " << i / rows << " row " << i % rows;
  });
}

TEST(Matmul, SimdPathsMatchScalarReference) {
  const MatmulCase cases[] = {
      {GgmlType::F32, {1, 7, 8, 16, 172, 261}},
      {GgmlType::F16, {1, 9, 172, 261}},
      {GgmlType::BF16, {1, 9, 172, 261}},
      {GgmlType::Q8_0, {32, 96, 512}},
      {GgmlType::Q4_0, {32, 96, 512}},
      {GgmlType::Q4_1, {32, 96, 512}},
      {GgmlType::Q5_0, {32, 96, 512}},
      {GgmlType::Q5_1, {32, 96, 512}},
      {GgmlType::Q4_K, {256, 768}},
      {GgmlType::Q5_K, {256, 768}},
      {GgmlType::Q6_K, {256, 768}},
  };
  // Every precision: with int8 or 16 bits every path quantizes the activations
  // alike, so only the order of the f32 additions differs. Widths of 1, 3 and 16
  // sub-blocks: the int8 tiles sum groups of 8, the last one partly filled.
  for (ActivationPrecision precision : kAllPrecisions) {
    uint32_t seed = 1;
    for (const MatmulCase& c : cases)
      for (int64_t cols : c.cols)
        for (int64_t rows : {1, 5, 19, 64})
          for (int64_t n_tokens : {1, 2, 3, 4, 5, 8, 17})
            check_paths_agree(precision, c.type, rows, cols, n_tokens, seed++);
  }
}

// The integer-activation reference against plain f32 math: the activation's
// rounding (at most d_x/2 per element, d_x = amax/127 or amax/16383) bounds
// the difference.
void check_integer_reference_against_float_math(ActivationPrecision precision, int quant_max) {
  const int64_t rows = 9, cols = 256, n_tokens = 3;
  const KernelConfig scalar{KernelPath::kScalar, precision};
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    SCOPED_TRACE(type_name(type));
    const std::vector<uint8_t> data = random_weights(type, rows, cols, 99);
    const WeightMatrix w{type, rows, cols, data.data()};
    const std::vector<float> x = random_floats(cols * n_tokens, 5);
    std::vector<float> y(rows * n_tokens), row(cols);
    matmul(scalar, w, x.data(), n_tokens, y.data());
    const std::vector<float> mag = magnitudes(w, x, n_tokens);
    for (int64_t o = 0; o < rows; ++o) {
      dequantize_row(type, data.data() + o * row_bytes(type, cols), row.data(), cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        double exact = 0, bound = 0;
        for (int64_t b = 0; b < cols / 32; ++b) {
          float amax = 0;
          for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[t * cols + b * 32 + j]));
          for (int j = 0; j < 32; ++j) {
            exact += double(row[b * 32 + j]) * x[t * cols + b * 32 + j];
            bound += std::fabs(row[b * 32 + j]) * amax / quant_max * 0.5;
          }
        }
        // Plus the f32 rounding of the sums, which the 16-bit bound no longer dwarfs.
        EXPECT_NEAR(y[t * rows + o], exact, bound * 1.01 + 2e-6 * mag[t * rows + o] + 1e-6);
      }
    }
  }
}

TEST(Matmul, Q8ActivationReferenceMatchesFloatMath) {
  check_integer_reference_against_float_math(ActivationPrecision::kInt8, 127);
}

TEST(Matmul, Q16ActivationReferenceMatchesFloatMath) {
  check_integer_reference_against_float_math(ActivationPrecision::kInt16, 16383);
}

// The 16-bit mode is the fast exact one: on the widest real weights its error
// is a small fraction of int8's (the rounding step is 129 times finer).
TEST(Matmul, Q16ActivationsAreMuchCloserToF32ThanInt8) {
  const int64_t rows = 64, cols = 768;
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    SCOPED_TRACE(type_name(type));
    const std::vector<uint8_t> data = random_weights(type, rows, cols, 17);
    const WeightMatrix w{type, rows, cols, data.data()};
    const std::vector<float> x = random_floats(cols, 18);
    auto max_error = [&](ActivationPrecision p) {
      std::vector<float> exact(rows), y(rows);
      matmul({KernelPath::kScalar, ActivationPrecision::kF32}, w, x.data(), 1, exact.data());
      matmul({best_kernel_path(), p}, w, x.data(), 1, y.data());
      double m = 0;
      for (int64_t o = 0; o < rows; ++o) m = std::max(m, double(std::fabs(y[o] - exact[o])));
      return m;
    };
    const double e16 = max_error(ActivationPrecision::kInt16), e8 = max_error(ActivationPrecision::kInt8);
    EXPECT_GT(e8, 0.0);
    EXPECT_LT(e16, e8 / 20) << "int16 " << e16 << " int8 " << e8;
  }
}

TEST(Matmul, F32WeightsMatchReferenceForManyTokens) {
  for (int64_t n_tokens : {8, 33}) check_paths_agree(ActivationPrecision::kF32, GgmlType::F32, 37, 172, n_tokens, 1234);
}

TEST(Matmul, SupportsEveryDequantizableType) {
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
                     GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
    EXPECT_TRUE(matmul_supports(t)) << type_name(t);
  EXPECT_FALSE(matmul_supports(GgmlType::IQ2_XXS));
}

}  // namespace
}  // namespace chorus::kernels

// ---- ops: every SIMD path against the scalar reference ----------------------------

namespace chorus::kernels {
namespace {

// Runs `op(path, v)` on a copy v of `input` on the scalar path and on each
// SIMD path, and compares the outputs element-wise within rel·|ref| + abs.
template <class Op>
void check_op(const std::vector<float>& input, Op op, float rel, float abs) {
  std::vector<float> ref = input;
  op(KernelPath::kScalar, ref);
  for_each_simd_path([&](KernelPath p) {
    std::vector<float> got = input;
    op(p, got);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref[i], rel * std::fabs(ref[i]) + abs) << i;
  });
}

const int64_t kOpLengths[] = {1, 7, 8, 9, 16, 31, 172, 2048};

TEST(Ops, DotAndAxpy) {
  for (int64_t n : kOpLengths) {
    SCOPED_TRACE(n);
    const std::vector<float> a = random_floats(n, 1), b = random_floats(n, 2);
    float ref_dot, mag = 0.0f;
    for (int64_t i = 0; i < n; ++i) mag += std::fabs(a[i] * b[i]);
    ref_dot = dot_f32(KernelPath::kScalar, a.data(), b.data(), n);
    for_each_simd_path([&](KernelPath p) { EXPECT_NEAR(dot_f32(p, a.data(), b.data(), n), ref_dot, 1e-6f * mag); });
    check_op(b, [&](KernelPath p, std::vector<float>& y) { axpy_f32(p, 0.37f, a.data(), y.data(), n); }, 1e-6f, 1e-6f);
  }
}

TEST(Ops, RmsnormSoftmaxSilu) {
  for (int64_t n : kOpLengths) {
    SCOPED_TRACE(n);
    const std::vector<float> x = random_floats(n, 3, 3.0f), w = random_floats(n, 4);
    check_op(x, [&](KernelPath p, std::vector<float>& v) { rmsnorm(p, x.data(), w.data(), v.data(), n, 1e-5f); }, 1e-5f, 1e-6f);
    check_op(x, [&](KernelPath p, std::vector<float>& v) { softmax(p, v.data(), n); }, 1e-5f, 1e-7f);
    check_op(x, [&](KernelPath p, std::vector<float>& v) { silu_mul(p, v.data(), w.data(), n); }, 1e-5f, 1e-6f);
  }
  // Extremes: large logits (exp underflows to 0), large |gate| (exp overflows).
  std::vector<float> big(37);
  for (size_t i = 0; i < big.size(); ++i) big[i] = (static_cast<float>(i) - 18.0f) * 12.0f;
  const std::vector<float> ones(big.size(), 1.0f);
  check_op(big, [&](KernelPath p, std::vector<float>& v) { softmax(p, v.data(), static_cast<int64_t>(v.size())); }, 1e-5f, 1e-30f);
  check_op(big, [&](KernelPath p, std::vector<float>& v) { silu_mul(p, v.data(), ones.data(), static_cast<int64_t>(v.size())); },
           1e-5f, 1e-30f);
}

TEST(Ops, Rope) {
  struct Shape { int64_t heads, head_dim, rope_dim; };
  for (Shape s : {Shape{1, 8, 8}, Shape{3, 64, 64}, Shape{2, 18, 18}, Shape{4, 32, 16}, Shape{2, 12, 6}}) {
    SCOPED_TRACE(::testing::Message() << s.heads << "x" << s.head_dim << " rope " << s.rope_dim);
    const std::vector<float> v = random_floats(s.heads * s.head_dim, 5);
    for (int64_t pos : {0, 1, 17, 4095})
      check_op(v, [&](KernelPath p, std::vector<float>& x) { rope(p, x.data(), s.heads, s.head_dim, s.rope_dim, pos, 10000.0f); },
               1e-6f, 1e-6f);
  }
}

// The NeoX rotation is the adjacent-pairs rotation of the same head with its
// halves interleaved: element i of the first half pairs with element i of the second.
TEST(Ops, RopeHalvesIsRopeOfInterleavedHalves) {
  struct Shape { int64_t heads, head_dim, rope_dim; };
  for (Shape s : {Shape{1, 8, 8}, Shape{3, 64, 64}, Shape{2, 256, 256}, Shape{4, 32, 16}, Shape{2, 12, 6}}) {
    SCOPED_TRACE(::testing::Message() << s.heads << "x" << s.head_dim << " rope " << s.rope_dim);
    const std::vector<float> v = random_floats(s.heads * s.head_dim, 6);
    const int64_t half = s.rope_dim / 2;
    for (int64_t pos : {0, 1, 17, 4095}) {
      check_op(v, [&](KernelPath p, std::vector<float>& x) { rope_halves(p, x.data(), s.heads, s.head_dim, s.rope_dim, pos, 1e6f); },
               1e-6f, 1e-6f);
      std::vector<float> halves = v, pairs = v;
      for (int64_t h = 0; h < s.heads; ++h)
        for (int64_t i = 0; i < half; ++i) {
          pairs[h * s.head_dim + 2 * i] = v[h * s.head_dim + i];
          pairs[h * s.head_dim + 2 * i + 1] = v[h * s.head_dim + half + i];
        }
      rope_halves(KernelPath::kScalar, halves.data(), s.heads, s.head_dim, s.rope_dim, pos, 1e6f);
      rope(KernelPath::kScalar, pairs.data(), s.heads, s.head_dim, s.rope_dim, pos, 1e6f);
      for (int64_t h = 0; h < s.heads; ++h) {
        for (int64_t i = 0; i < half; ++i) {
          // Not bit for bit: the compiler may contract one product of a pair into an FMA and not the other.
          ASSERT_NEAR(halves[h * s.head_dim + i], pairs[h * s.head_dim + 2 * i], 1e-6f) << h << "," << i;
          ASSERT_NEAR(halves[h * s.head_dim + half + i], pairs[h * s.head_dim + 2 * i + 1], 1e-6f) << h << "," << i;
        }
        for (int64_t i = s.rope_dim; i < s.head_dim; ++i)
          ASSERT_EQ(halves[h * s.head_dim + i], v[h * s.head_dim + i]) << "past rope_dim: untouched";
      }
    }
  }
}

// The engine applies the gated activations to a whole batch's rows at once: an
// element's result must not depend on the array's length or its place in it.
TEST(Ops, GatedActivationsDoNotDependOnThePlaceInTheArray) {
  const std::vector<float> x = random_floats(300, 9, 3.0f), u = random_floats(300, 10);
  for (auto op : {silu_mul, gelu_tanh_mul})
    for (KernelPath p : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
      if (!kernel_path_available(p)) continue;
      std::vector<float> whole = x;
      op(p, whole.data(), u.data(), 300);
      for (int64_t begin : {0, 1, 5, 172}) {
        for (int64_t n : {1, 4, 7, 9, 13, 100}) {
          std::vector<float> part(x.begin() + begin, x.begin() + begin + n);
          op(p, part.data(), u.data() + begin, n);
          for (int64_t i = 0; i < n; ++i) ASSERT_EQ(part[i], whole[begin + i]) << begin << "+" << i << " of " << n;
        }
      }
    }
}

TEST(Ops, GeluTanhMul) {
  for (int64_t n : kOpLengths) {
    SCOPED_TRACE(n);
    const std::vector<float> x = random_floats(n, 7, 4.0f), w = random_floats(n, 8);
    check_op(x, [&](KernelPath p, std::vector<float>& v) { gelu_tanh_mul(p, v.data(), w.data(), n); }, 2e-6f, 1e-6f);
  }
  std::vector<float> big(41);
  for (size_t i = 0; i < big.size(); ++i) big[i] = (static_cast<float>(i) - 20.0f) * 6.0f;  // tanh saturates
  const std::vector<float> ones(big.size(), 1.0f);
  // Where tanh rounds to -1 the reference gives 0 and x·sigmoid(2u) a value below 1e-9.
  check_op(big, [&](KernelPath p, std::vector<float>& v) { gelu_tanh_mul(p, v.data(), ones.data(), static_cast<int64_t>(v.size())); },
           2e-6f, 1e-9f);
  // Values of 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) computed in double, on every path.
  auto check_values = [](KernelPath p) {
    std::vector<float> g = {1.0f, -1.0f, 0.5f, 3.0f, 0.0f, -3.0f, 2.0f, -0.5f}, u(8, 2.0f);
    gelu_tanh_mul(p, g.data(), u.data(), 8);
    const float want[] = {0.841192f, -0.158808f, 0.345714f, 2.996363f, 0.0f, -0.003637f, 1.954598f, -0.154286f};
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(g[i], 2.0f * want[i], 2e-5f) << i;
  };
  check_values(KernelPath::kScalar);
  for_each_simd_path(check_values);
}

}  // namespace
}  // namespace chorus::kernels

// ---- gemm_f32: every SIMD path against the reference ---------------------------------

namespace chorus::kernels {
namespace {

TEST(GemmF32, SimdPathsMatchReference) {
  struct Shape { int64_t m, n, k; };
  for (Shape s : {Shape{1, 1, 1}, Shape{6, 16, 8}, Shape{7, 17, 172}, Shape{13, 33, 257}, Shape{121, 70, 300},
                  Shape{12, 32, 512}, Shape{5, 300, 64}}) {
    SCOPED_TRACE(::testing::Message() << s.m << "x" << s.n << "x" << s.k);
    const std::vector<float> x = random_floats(s.m * s.k, 11), w = random_floats(s.n * s.k, 12);
    std::vector<float> ref(s.m * s.n), y(s.m * s.n);
    gemm_f32(KernelPath::kScalar, x.data(), w.data(), s.m, s.n, s.k, ref.data());
    for_each_simd_path([&](KernelPath p) {
      std::fill(y.begin(), y.end(), NAN);
      gemm_f32(p, x.data(), w.data(), s.m, s.n, s.k, y.data());
      for (int64_t t = 0; t < s.m; ++t)
        for (int64_t o = 0; o < s.n; ++o) {
          double mag = 0;
          for (int64_t i = 0; i < s.k; ++i) mag += std::fabs(x[t * s.k + i] * w[o * s.k + i]);
          ASSERT_NEAR(y[t * s.n + o], ref[t * s.n + o], 2e-6 * mag + 1e-6) << t << "," << o;
        }
    });
  }
}

}  // namespace
}  // namespace chorus::kernels

// ---- quantized activations: every path gives the reference's bytes -------------------------

namespace chorus::kernels {
namespace {

// Every path writes the reference's bytes, for int8 and for 16-bit quants.
template <class Quants>
void check_quantizer_gives_reference_bytes() {
  constexpr float kMax = static_cast<float>(Quants::kMax);
  std::vector<float> x = random_floats(32 * 40, 21, 5.0f);
  // Exact halves after scaling (amax kMax → id 1): ties must round away from zero.
  for (int j = 0; j < 32; ++j) x[j] = j == 0 ? kMax : (static_cast<float>(j) - 16.0f) * 0.5f;
  for (int j = 32; j < 64; ++j) x[j] = 0.0f;                      // all-zero block
  for (int j = 64; j < 96; ++j) x[j] = j == 64 ? -1e-38f : 0.0f;  // tiny scale
  const int64_t nb = static_cast<int64_t>(x.size()) / 32;
  // Written from block 1 on: block 0 of the buffers must stay untouched.
  QuantizedActivationsBuffer<Quants> ref_buffer, got_buffer;
  ref_buffer.resize(nb + 1), got_buffer.resize(nb + 1);
  quantize_activation_row(KernelPath::kScalar, x.data(), static_cast<int64_t>(x.size()), ref_buffer, 1);
  const QuantizedActivations<Quants> ref = ref_buffer.view().from_block(1);
  EXPECT_EQ(ref.qs[0].q[0], Quants::kMax);
  EXPECT_EQ(ref.qs[0].q[Quants::slot(1)], -8);  // -7.5 → -8
  EXPECT_EQ(ref.qs[0].q[Quants::slot(31)], 8);  // 7.5 → 8
  EXPECT_EQ(ref.sum[0], Quants::kMax);  // the halves -7.5 .. 7.5 cancel in pairs
  EXPECT_EQ(ref.d_sum[0], ref.d[0] * static_cast<float>(ref.sum[0]));
  EXPECT_EQ(ref.qs[2].q[0], 0);  // the tiny block (scale subnormal): zeros, no overflow
  for_each_simd_path([&](KernelPath p) {
    quantize_activation_row(p, x.data(), static_cast<int64_t>(x.size()), got_buffer, 1);
    const QuantizedActivations<Quants> got = got_buffer.view().from_block(1);
    EXPECT_EQ(got_buffer.view().d[0], 0.0f);
    for (int64_t b = 0; b < nb; ++b) {
      EXPECT_EQ(got.d[b], ref.d[b]) << b;
      EXPECT_EQ(got.sum[b], ref.sum[b]) << b;
      EXPECT_EQ(got.d_sum[b], ref.d_sum[b]) << b;
      EXPECT_EQ(std::memcmp(got.qs[b].q, ref.qs[b].q, sizeof ref.qs[b].q), 0) << b;
    }
  });
}

TEST(ActivationQ8, SimdPathsGiveReferenceBytes) { check_quantizer_gives_reference_bytes<BlockQuantsQ8>(); }
TEST(ActivationQ16, SimdPathsGiveReferenceBytes) { check_quantizer_gives_reference_bytes<BlockQuantsQ16>(); }

}  // namespace
}  // namespace chorus::kernels

// ---- f32 activations against quantized weights ---------------------------------------

namespace chorus::kernels {
namespace {

TEST(Matmul, F32ActivationsMatchDequantizedMath) {
  const int64_t rows = 21, cols = 512;
  const ActivationPrecision f32 = ActivationPrecision::kF32;
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    SCOPED_TRACE(type_name(type));
    for (int64_t n_tokens : {1, 5}) check_paths_agree(f32, type, rows, cols, n_tokens, 77);
    const std::vector<uint8_t> data = random_weights(type, rows, cols, 78);
    const WeightMatrix w{type, rows, cols, data.data()};
    const std::vector<float> x = random_floats(cols, 79);
    std::vector<float> y(rows), row(cols);
    matmul({best_kernel_path(), f32}, w, x.data(), 1, y.data());
    const std::vector<float> mag = magnitudes(w, x, 1);
    for (int64_t o = 0; o < rows; ++o) {
      dequantize_row(type, data.data() + o * row_bytes(type, cols), row.data(), cols);
      double exact = 0;
      for (int64_t i = 0; i < cols; ++i) exact += double(row[i]) * x[i];
      EXPECT_NEAR(y[o], exact, 2e-6 * mag[o] + 1e-6);
    }
  }
}


}  // namespace
}  // namespace chorus::kernels

// ---- several matrices with one input ------------------------------------------------

namespace chorus::kernels {
namespace {

// One parallel region for q, k and v (or gate and up) must give each output
// the bits its own matmul gives: mixed weight types (int8 and f32 activation
// kernels, f32 with 9 tokens), both precisions, every SIMD path;
// 10 outputs, so that the split into regions of at most 8 runs too.
TEST(Matmul, SharedInputGivesEachMatmulsBits) {
  const int64_t cols = 256;
  const std::vector<std::pair<GgmlType, int64_t>> shapes = {
      {GgmlType::Q8_0, 70}, {GgmlType::Q4_K, 33}, {GgmlType::F32, 40}, {GgmlType::Q6_K, 64},
      {GgmlType::Q4_0, 9},  {GgmlType::Q5_1, 17}, {GgmlType::F16, 12}, {GgmlType::Q5_K, 31},
      {GgmlType::Q4_1, 5},  {GgmlType::Q8_0, 66}};
  std::vector<std::vector<uint8_t>> data;
  std::vector<WeightMatrix> ws;
  for (size_t i = 0; i < shapes.size(); ++i) data.push_back(random_weights(shapes[i].first, shapes[i].second, cols, 50 + i));
  for (size_t i = 0; i < shapes.size(); ++i) ws.push_back({shapes[i].first, shapes[i].second, cols, data[i].data()});
  for (ActivationPrecision precision : kAllPrecisions) {
    for_each_simd_path([&](KernelPath p) {
      const KernelConfig config{p, precision};
      for (int64_t n_tokens : {1, 3, 9}) {
        SCOPED_TRACE(n_tokens);
        const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 51);
        std::vector<std::vector<float>> together, alone;
        std::vector<MatmulOutput> outs;
        for (const WeightMatrix& w : ws) together.emplace_back(static_cast<size_t>(w.rows * n_tokens), -1.0f);
        for (size_t i = 0; i < ws.size(); ++i) outs.push_back({&ws[i], together[i].data()});
        matmul_shared_input(config, outs, x.data(), n_tokens);
        for (size_t i = 0; i < ws.size(); ++i) {
          std::vector<float> y(together[i].size());
          matmul(config, ws[i], x.data(), n_tokens, y.data());
          ASSERT_EQ(y, together[i]) << type_name(ws[i].type);
        }
      }
    });
  }
}

}  // namespace
}  // namespace chorus::kernels

// ---- batch invariance as a property ----------------------------------------------

namespace chorus::kernels {
namespace {

// A token's outputs must not depend on which other tokens share the call (the
// engine batches sequences, and a batch must generate what each sequence
// generates alone). Random batch compositions: a probe token's outputs must be
// bit for bit what it gets alone, whatever the number of other tokens (every
// tile shape, chunk boundaries), its place among them, and whether its matrix
// shares the call with others; rows that leave a tail of row tiles, widths
// with a tail of lanes. Every weight type, both activation precisions, every
// path this CPU has (the scalar reference included).
// One instance per path; a path this CPU cannot run reports skipped.
class BatchInvariance : public ::testing::TestWithParam<KernelPath> {};

TEST_P(BatchInvariance, MatmulHoldsForRandomBatches) {
  const KernelPath p = GetParam();
  if (!kernel_path_available(p)) GTEST_SKIP() << "this CPU cannot run the " << kernel_path_name(p) << " path";
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                            GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                            GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  std::mt19937 rng(2024);
  const int64_t rows = 37;
  // Float weights take any width: one with a tail of lanes; the others whole blocks.
  auto second_width = [](GgmlType t) -> int64_t {
    return type_traits(static_cast<uint32_t>(t))->block_elems == 1 ? 172 : 768;
  };
  for (GgmlType type : types)
    for (int64_t cols : {int64_t{256}, second_width(type)}) {
      SCOPED_TRACE(::testing::Message() << type_name(type) << " cols " << cols);
      const std::vector<uint8_t> data = random_weights(type, rows, cols, 300 + static_cast<uint32_t>(type));
      const std::vector<uint8_t> other_data = random_weights(GgmlType::Q8_0, 9, cols, 7);
      const WeightMatrix w{type, rows, cols, data.data()}, other{GgmlType::Q8_0, 9, cols, other_data.data()};
      const std::vector<float> probe = random_floats(cols, 301, 2.0f);
      for (ActivationPrecision precision : kAllPrecisions) {
        const KernelConfig config{p, precision};
        std::vector<float> alone(rows);
        matmul(config, w, probe.data(), 1, alone.data());
        // Batches of 2-5 (every token tile), 17 (past a 16-token chunk), then random sizes.
        const int64_t sizes[] = {2, 3, 4, 5, 17};
        for (int trial = 0; trial < 9; ++trial) {
          const int64_t n_tokens = trial < 5 ? sizes[trial] : std::uniform_int_distribution<int64_t>(6, 40)(rng);
          const int64_t at = std::uniform_int_distribution<int64_t>(0, n_tokens - 1)(rng);
          std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), rng(), 3.0f);
          std::copy(probe.begin(), probe.end(), x.begin() + at * cols);
          std::vector<float> y(static_cast<size_t>(rows * n_tokens)), y_other(static_cast<size_t>(9 * n_tokens));
          if (trial % 2) {
            const MatmulOutput outs[] = {{&other, y_other.data()}, {&w, y.data()}};
            matmul_shared_input(config, outs, x.data(), n_tokens);
          } else {
            matmul(config, w, x.data(), n_tokens, y.data());
          }
          for (int64_t o = 0; o < rows; ++o)
            ASSERT_EQ(y[at * rows + o], alone[o]) << "tokens " << n_tokens << ", probe at " << at << ", row " << o;
        }
      }
    }
}

INSTANTIATE_TEST_SUITE_P(EveryPath, BatchInvariance,
                         ::testing::Values(KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512),
                         [](const auto& info) { return std::string(kernel_path_name(info.param)); });

}  // namespace
}  // namespace chorus::kernels

// ---- attention products: against f64 math, and independent of how keys fall into runs ----

namespace chorus::kernels {
namespace {

// K/V rows of `stride` floats (head_dim used), as f32 and as f16 (the f16
// copy's values are what the f32 reference reads for it).
struct KvRows {
  std::vector<float> f32;
  std::vector<uint16_t> f16;
  std::vector<float> f16_values;
};
KvRows random_kv(int64_t n, int64_t stride, uint32_t seed) {
  KvRows kv{random_floats(static_cast<size_t>(n * stride), seed), {}, {}};
  for (float x : kv.f32) {
    kv.f16.push_back(fp32_to_fp16(x));
    kv.f16_values.push_back(fp16_to_fp32(kv.f16.back()));
  }
  return kv;
}

TEST(Attention, ScoresAndValueSumsMatchFloat64Math) {
  const int64_t stride = 300;
  for (int64_t head_dim : {64, 256, 36}) {
    for (int64_t n : {1, 2, 3, 4, 5, 7, 33}) {
      SCOPED_TRACE(::testing::Message() << "head_dim " << head_dim << " keys " << n);
      const KvRows k = random_kv(n, stride, 1), v = random_kv(n, stride, 2);
      const std::vector<float> q = random_floats(static_cast<size_t>(head_dim), 3), w = random_floats(n, 4);
      for (bool f16 : {false, true}) {
        const std::vector<float>& kf = f16 ? k.f16_values : k.f32;
        const std::vector<float>& vf = f16 ? v.f16_values : v.f32;
        std::vector<float> scores(n), out(head_dim, 0.5f);
        if (f16) {
          attn_scores_f16(q.data(), k.f16.data(), n, stride, head_dim, 0.125f, scores.data());
          attn_accumulate_f16(w.data(), v.f16.data(), n, stride, head_dim, out.data());
        } else {
          attn_scores_f32(q.data(), k.f32.data(), n, stride, head_dim, 0.125f, scores.data());
          attn_accumulate_f32(w.data(), v.f32.data(), n, stride, head_dim, out.data());
        }
        for (int64_t i = 0; i < n; ++i) {
          double s = 0, mag = 0;
          for (int64_t d = 0; d < head_dim; ++d) s += double(q[d]) * kf[i * stride + d], mag += std::fabs(q[d] * kf[i * stride + d]);
          EXPECT_NEAR(scores[i], 0.125 * s, 0.125 * mag * 1e-6 + 1e-7) << "key " << i << (f16 ? " f16" : " f32");
        }
        for (int64_t d = 0; d < head_dim; ++d) {
          double s = 0.5, mag = 0.5;
          for (int64_t i = 0; i < n; ++i) s += double(w[i]) * vf[i * stride + d], mag += std::fabs(w[i] * vf[i * stride + d]);
          EXPECT_NEAR(out[d], s, mag * 1e-6) << "element " << d << (f16 ? " f16" : " f32");
        }
      }
    }
  }
}

// The paged cache hands a sequence's keys over in runs (its blocks): a key's
// score and the value sum must be bit for bit the same however the keys are
// split into runs.
TEST(Attention, ResultsDoNotDependOnHowKeysSplitIntoRuns) {
  const int64_t stride = 256, n = 37;
  std::mt19937 rng(5);
  for (int64_t head_dim : {64, 256, 36}) {
    SCOPED_TRACE(head_dim);
    const KvRows k = random_kv(n, stride, 6), v = random_kv(n, stride, 7);
    const std::vector<float> q = random_floats(static_cast<size_t>(head_dim), 8), w = random_floats(n, 9);
    std::vector<float> whole(n), out_whole(head_dim, 0.0f);
    attn_scores_f32(q.data(), k.f32.data(), n, stride, head_dim, 0.5f, whole.data());
    attn_accumulate_f16(w.data(), v.f16.data(), n, stride, head_dim, out_whole.data());
    for (int trial = 0; trial < 10; ++trial) {
      std::vector<float> split(n), out_split(head_dim, 0.0f);
      for (int64_t i = 0; i < n;) {
        const int64_t len = std::min<int64_t>(n - i, std::uniform_int_distribution<int64_t>(1, 9)(rng));
        attn_scores_f32(q.data(), k.f32.data() + i * stride, len, stride, head_dim, 0.5f, split.data() + i);
        attn_accumulate_f16(w.data() + i, v.f16.data() + i * stride, len, stride, head_dim, out_split.data());
        i += len;
      }
      ASSERT_EQ(split, whole) << "trial " << trial;
      ASSERT_EQ(out_split, out_whole) << "trial " << trial;
    }
  }
}

}  // namespace
}  // namespace chorus::kernels
