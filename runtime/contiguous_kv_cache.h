// The simplest KvState: per sequence and layer, one growing f32 array of K rows
// and one of V rows. The paged cache replaces it for batched serving.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "models/kv_state.h"

namespace chorus::runtime {

class ContiguousKvCache : public models::KvState {
 public:
  ContiguousKvCache(int32_t n_layers, int32_t kv_dim, int32_t max_positions);

  models::KvType type() const override { return models::KvType::kF32; }
  void reserve(int32_t seq, int32_t end) override;
  void write(int32_t layer, int32_t seq, int32_t pos, const float* k, const float* v) override;
  models::KvRun run(int32_t layer, int32_t seq, int32_t pos, int32_t end) const override;

 private:
  struct Seq {
    int32_t capacity = 0;
    std::vector<std::vector<float>> k, v;  // per layer: capacity x kv_dim
  };
  int32_t n_layers_, kv_dim_, max_positions_;
  std::unordered_map<int32_t, Seq> seqs_;
};

}  // namespace chorus::runtime
