#include "kernels/activation_q8.h"

#include <algorithm>
#include <cmath>

namespace chorus::kernels {

void quantize_activation_row(const float* x, ActivationBlockQ8* y, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += y[b].qs[j];
    }
    y[b].d = d;
    y[b].sum = sum;
  }
}

}  // namespace chorus::kernels
