#include "kernels/row_runs.h"

#include <algorithm>

namespace chorus::kernels {

namespace {
// Each run is 1/kGuidedShare of a thread's share of what is left.
constexpr int64_t kGuidedShare = 2;
}  // namespace

void cut_into_runs(std::span<const MatmulOutput> outs, int64_t n_tokens, int threads, std::vector<RowRun>& runs) {
  runs.clear();
  double left = 0;
  for (const MatmulOutput& o : outs) left += static_cast<double>(row_bytes(o.w->type, o.w->cols)) * o.w->rows;
  for (uint32_t i = 0; i < outs.size(); ++i) {
    const WeightMatrix& w = *outs[i].w;
    const double bytes_per_row = static_cast<double>(row_bytes(w.type, w.cols));
    const auto min_rows = static_cast<int64_t>(kMinRunBytes / (bytes_per_row * static_cast<double>(n_tokens)));
    for (int64_t begin = 0; begin < w.rows;) {
      const auto want = static_cast<int64_t>(left / static_cast<double>(kGuidedShare * threads) / bytes_per_row);
      int64_t rows = std::max<int64_t>({want, min_rows, 4});
      rows = std::min((rows + 3) / 4 * 4, w.rows - begin);
      runs.push_back({i, begin, begin + rows});
      begin += rows;
      left -= bytes_per_row * static_cast<double>(rows);
    }
  }
}

}  // namespace chorus::kernels
