#include "tools/bandwidth_probe.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace chorus::cli {

double stream_read_gb_s(size_t bytes) {
  const size_t n = bytes / sizeof(float);
  std::vector<float> buf(n, 1.0f);  // written once so every page is really mapped
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int pass = 0; pass < 4; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    float total = 0.0f;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (size_t i = 0; i < n; i += 64) {
      // Four independent AVX accumulators per cache-line pair keep the loads streaming.
      __m256 a = _mm256_loadu_ps(&buf[i]), b = _mm256_loadu_ps(&buf[i + 8]);
      __m256 c = _mm256_loadu_ps(&buf[i + 16]), d = _mm256_loadu_ps(&buf[i + 24]);
      a = _mm256_add_ps(a, _mm256_loadu_ps(&buf[i + 32]));
      b = _mm256_add_ps(b, _mm256_loadu_ps(&buf[i + 40]));
      c = _mm256_add_ps(c, _mm256_loadu_ps(&buf[i + 48]));
      d = _mm256_add_ps(d, _mm256_loadu_ps(&buf[i + 56]));
      const __m256 s = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
      total += _mm256_cvtss_f32(s);
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink = sink + total;
    best = std::max(best, static_cast<double>(n / 64 * 64 * sizeof(float)) / sec / 1e9);
  }
  return best;
}

}  // namespace chorus::cli
