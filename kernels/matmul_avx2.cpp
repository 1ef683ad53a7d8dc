// AVX2+FMA matmul kernels (the project's baseline ISA). Each kernel computes a
// tile of R weight rows × T tokens, so one load (and unpack) of a weight block
// serves T tokens and one load of an activation block serves R rows.
#include <immintrin.h>

#include <vector>

#include "kernels/dequantize.h"
#include "kernels/matmul_paths.h"
#include "kernels/matmul_x86_tiles.h"

namespace chorus::kernels {

namespace {

// ---- float weights: f32, f16, bf16 ------------------------------------------

struct LoadF32 {
  using Elem = float;
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float load1(const float* p) { return *p; }
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float load1(const uint16_t* p) { return half_to_float(*p); }
};
struct LoadBF16 {
  using Elem = uint16_t;
  static __m256 load8(const uint16_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
  static float load1(const uint16_t* p) { return bf16_to_fp32(*p); }
};

template <class L, int R, int T>
void float_tile(const typename L::Elem* const* w, const float* const* x, int64_t n, float* y, int64_t y_stride) {
  __m256 acc[R][T];
  // Every loop over r and t is unrolled, so the accumulators stay in registers.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 xv[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 wv = L::load8(w[r] + i);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  // The tail as one more 8-lane step, zero-padded: every token's sum then runs
  // in the same order whatever R and T (a scalar tail loop let the compiler
  // contract it into FMAs in some tile shapes and not others).
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    __m256 xv[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) xv[t] = load_lanes(x[t] + i, rest);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      alignas(32) float tail[8] = {};
      for (int k = 0; k < rest; ++k) tail[k] = L::load1(w[r] + i + k);
      const __m256 wv = _mm256_load_ps(tail);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) y[t * y_stride + r] = hsum(acc[r][t]);
}

template <class L>
void rows_float(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  using Elem = typename L::Elem;
  const auto* base = static_cast<const Elem*>(a.w.data);
  const int64_t cols = a.w.cols, stride = a.w.rows;
  auto row_ptr = [&](int64_t o) { return base + o * cols; };
  auto tile = [&]<int R, int T>(const Elem* const* rows, int64_t t, float* y) {
    const float* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x + (t + k) * cols;
    // Decode (one token) needs several rows in flight to hide the FMA latency.
    float_tile<L, R, T>(rows, xs, cols, y, stride);
  };
  if (a.n_tokens == 1)
    for_each_tile<4>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
  else
    for_each_tile<2>(row_begin, row_end, 0, a.n_tokens, stride, a.y, row_ptr, tile);
}

// Types without an integer kernel: dequantize each row to f32 once, then the
// f32 tile over all tokens.
void rows_dequantized(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(a.w.cols));
  const size_t rb = row_bytes(a.w.type, a.w.cols);
  const auto* base = static_cast<const uint8_t*>(a.w.data);
  const int64_t cols = a.w.cols, stride = a.w.rows;
  auto row_ptr = [&](int64_t) { return static_cast<const float*>(row.data()); };
  auto tile = [&]<int R, int T>(const float* const* rows, int64_t t, float* y) {
    const float* xs[T];
    for (int k = 0; k < T; ++k) xs[k] = a.x + (t + k) * cols;
    float_tile<LoadF32, R, T>(rows, xs, cols, y, stride);
  };
  for (int64_t o = row_begin; o < row_end; ++o) {
    dequantize_row(a.w.type, base + o * rb, row.data(), cols);
    for_each_tile<1>(o, o + 1, 0, a.n_tokens, stride, a.y, row_ptr, tile);
  }
}

}  // namespace

MatmulRowsFn matmul_rows_avx2(GgmlType type, ActivationPrecision activations) {
  switch (type) {
    case GgmlType::F32: return rows_float<LoadF32>;
    case GgmlType::F16: return rows_float<LoadF16>;
    case GgmlType::BF16: return rows_float<LoadBF16>;
    default: break;
  }
  if (takes_integer_activations(type)) {
    switch (activations) {
      case ActivationPrecision::kInt8: return integer_rows<Int8Dots<DotMaddubs>>(type);
      case ActivationPrecision::kInt16: return integer_rows<Int16Dots<MaddAdd>>(type);
      case ActivationPrecision::kF32: return f32_activation_rows(type);
    }
  }
  return can_dequantize(type) ? rows_dequantized : nullptr;
}

}  // namespace chorus::kernels
