// The epoch loop shared by the trainers: shuffling, batching, a progress bar,
// the per-epoch hook and early stopping with a snapshot of the best weights.
#pragma once

#include <functional>
#include <random>
#include <vector>

#include "router/train_config.h"

namespace chorus::router {

// batch_step(indices) trains on those examples and returns their summed loss.
// snapshot()/restore() save and bring back the best weights.
double run_epochs(size_t n, const TrainConfig& cfg, std::mt19937_64& rng,
                  const std::function<double(const std::vector<size_t>&)>& batch_step, const EpochHook& hook,
                  const std::function<void()>& snapshot, const std::function<void()>& restore);

}  // namespace chorus::router
