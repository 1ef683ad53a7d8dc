#include "kernels/matmul.h"

#include <vector>

#include "kernels/dequantize.h"
#include "kernels/ops.h"

namespace chorus::kernels {

bool matmul_supports(GgmlType type) { return can_dequantize(type); }

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
#pragma omp parallel
  {
    std::vector<float> row(w.type == GgmlType::F32 ? 0 : static_cast<size_t>(w.cols));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < w.rows; ++o) {
      const float* wr;
      if (w.type == GgmlType::F32) {
        wr = reinterpret_cast<const float*>(base + o * rb);
      } else {
        dequantize_row(w.type, base + o * rb, row.data(), w.cols);
        wr = row.data();
      }
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.rows + o] = dot_f32(wr, x + t * w.cols, w.cols);
    }
  }
}

}  // namespace chorus::kernels
