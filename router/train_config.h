// Settings shared by the classifier trainers, and the per-epoch hook used for
// validation and early stopping.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "router/sparse.h"

namespace chorus::router {

struct TrainConfig {
  int hidden = 256;            // WideMLP only
  int max_epochs = 30;
  int patience = 5;            // epochs without a better validation score
  int batch = 32;
  float lr = 2e-3f;
  float weight_decay = 0.0f;
  float dropout_input = 0.3f;  // drop whole input features
  float dropout_hidden = 0.5f; // WideMLP only
  float label_smoothing = 0.1f;
  uint64_t seed = 1;
  bool progress = false;       // progress bar on stderr
};

struct TrainSet {
  std::vector<SparseVec> x;
  std::vector<int> y;
  std::vector<float> class_weight;  // one per output label (empty = all 1)
};

// Called after each epoch with (epoch, mean training loss); returns the
// validation score (higher is better). The trainer keeps the best weights.
using EpochHook = std::function<double(int epoch, double train_loss)>;

}  // namespace chorus::router
