// matmul's units of work (kernels/row_runs.h) over random calls: every row of
// every output in exactly one run, in order; runs a multiple of 4 rows but an
// output's last; none below the floor of bytes; guided (the first run of a
// call is a large share of it, so a long matrix is a few long streams).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/ggml_types.h"
#include "kernels/row_runs.h"

namespace {

using namespace chorus::kernels;

TEST(RowRuns, CoverEveryRowOnceInOrderForRandomCalls) {
  std::mt19937 rng(11);
  const GgmlType types[] = {GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::F32};
  std::vector<RowRun> runs;
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<WeightMatrix> matrices(1 + rng() % 8);
    for (WeightMatrix& w : matrices) {
      w.type = types[rng() % 5];
      w.cols = 256 * (1 + static_cast<int64_t>(rng() % 40));
      w.rows = 1 + static_cast<int64_t>(rng() % (trial % 4 == 0 ? 200000 : 3000));
    }
    std::vector<MatmulOutput> outs;
    for (const WeightMatrix& w : matrices) outs.push_back({&w, nullptr});
    const int64_t n_tokens = std::vector<int64_t>{1, 2, 8, 128}[rng() % 4];
    const int threads = 1 + static_cast<int>(rng() % 4);
    cut_into_runs(outs, n_tokens, threads, runs);
    size_t r = 0;
    for (uint32_t i = 0; i < outs.size(); ++i) {
      const WeightMatrix& w = matrices[i];
      const auto floor_rows = static_cast<int64_t>(kMinRunBytes / (row_bytes(w.type, w.cols) * n_tokens));
      for (int64_t next = 0; next < w.rows; ++r) {
        ASSERT_LT(r, runs.size()) << "output " << i << " ends at row " << next << " of " << w.rows;
        const RowRun& run = runs[r];
        ASSERT_EQ(run.output, i);
        ASSERT_EQ(run.begin, next);
        ASSERT_GT(run.end, run.begin);
        ASSERT_LE(run.end, w.rows);
        if (run.end < w.rows) {
          EXPECT_EQ((run.end - run.begin) % 4, 0) << "trial " << trial;
          EXPECT_GE(run.end - run.begin, floor_rows) << "trial " << trial;
        }
        next = run.end;
      }
    }
    EXPECT_EQ(r, runs.size());
  }
}

TEST(RowRuns, ALongMatrixIsAFewLongStreamsEndingInShortOnes) {
  // Qwen2.5-1.5B's classifier: 151936 rows of 1536 q6_K weights (191 MB), 2 threads, 1 token.
  const WeightMatrix w{GgmlType::Q6_K, 151936, 1536, nullptr};
  const MatmulOutput out{&w, nullptr};
  std::vector<RowRun> runs;
  cut_into_runs({&out, 1}, 1, 2, runs);
  ASSERT_FALSE(runs.empty());
  EXPECT_GE(runs.front().end - runs.front().begin, w.rows / 5);  // half a thread's share
  EXPECT_LT(runs.size(), 100u);                                  // 32-row runs were 4748
  const int64_t last = runs.back().end - runs.back().begin;
  EXPECT_LE(static_cast<int64_t>(row_bytes(w.type, w.cols)) * last, 2 * kMinRunBytes);
}

}  // namespace
