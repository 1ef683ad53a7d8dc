// fastText-style linear baseline: logits = Wᵀx + b over the hashed sparse
// features, softmax, trained with (lazy) Adam.
#pragma once

#include <cstdint>
#include <vector>

#include "router/sparse.h"
#include "router/train_config.h"

namespace chorus::router {

struct LinearClassifier {
  uint32_t in_dim = 0, out_dim = 0;
  std::vector<float> w;  // in_dim × out_dim, row-major
  std::vector<float> b;  // out_dim

  void init(uint32_t in, uint32_t out);
  bool shapes_ok() const;
  void logits(const SparseVec& x, float* out) const;
};

double train_linear(LinearClassifier& model, const TrainSet& data, const TrainConfig& cfg, const EpochHook& hook);

}  // namespace chorus::router
