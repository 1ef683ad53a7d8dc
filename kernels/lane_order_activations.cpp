#include "kernels/lane_order_activations.h"

#include <immintrin.h>

namespace chorus::kernels {

void LaneOrderActivationsBuffer::resize(int64_t n_blocks) {
  x_.resize(static_cast<size_t>(n_blocks) * 32);
  sums_.resize(static_cast<size_t>(n_blocks) * 8);
}

void LaneOrderActivationsBuffer::fill_token(const float* x, int64_t cols, int64_t t) {
  const int64_t nb = cols / 32;
  for (int64_t b = 0; b < nb; ++b) {
    const float* in = x + 32 * b;
    float* out = x_.data() + 32 * (t * nb + b);
    __m256 v[4];
    for (int g = 0; g < 4; ++g) {
      v[g] = _mm256_loadu2_m128(in + 16 + 4 * g, in + 4 * g);
      _mm256_storeu_ps(out + 8 * g, v[g]);
    }
    _mm256_storeu_ps(sums_.data() + 8 * (t * nb + b), _mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3])));
  }
}

}  // namespace chorus::kernels
