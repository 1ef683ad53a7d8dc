// WideMLP: sparse TF-IDF input → one wide ReLU hidden layer → class logits.
// The input layer is a (dim × hidden) matrix read row by row for the non-zero
// features, so inference costs nnz·hidden + hidden·classes multiply-adds.
#pragma once

#include <cstdint>
#include <vector>

#include "router/sparse.h"
#include "router/train_config.h"

namespace chorus::router {

struct WideMLP {
  uint32_t in_dim = 0, hidden = 0, out_dim = 0;
  std::vector<float> w1;  // in_dim × hidden, row-major (one row per feature)
  std::vector<float> b1;  // hidden
  std::vector<float> w2;  // hidden × out_dim, row-major
  std::vector<float> b2;  // out_dim

  void init(uint32_t in, uint32_t hid, uint32_t out, uint64_t seed);
  bool shapes_ok() const;
  // logits must have out_dim entries.
  void logits(const SparseVec& x, float* out) const;
};

// Trains with Adam (lazy on w1), dropout on input features and hidden units,
// class-weighted cross-entropy; early stopping on hook's validation score.
// Returns the best validation score.
double train_wide_mlp(WideMLP& model, const TrainSet& data, const TrainConfig& cfg, const EpochHook& hook);

}  // namespace chorus::router
