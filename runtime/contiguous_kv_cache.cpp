#include "runtime/contiguous_kv_cache.h"

#include <algorithm>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

ContiguousKvCache::ContiguousKvCache(int32_t n_layers, int32_t kv_dim, int32_t max_positions)
    : n_layers_(n_layers), kv_dim_(kv_dim), max_positions_(max_positions) {}

void ContiguousKvCache::reserve(int32_t seq, int32_t end) {
  if (end > max_positions_)
    throw Error(ErrorCode::kResourceExhausted,
                fmt::format("KV cache: sequence {} needs {} positions, the cache holds {}", seq, end, max_positions_));
  Seq& s = seqs_[seq];
  if (end <= s.capacity) return;
  // Grow geometrically so that decoding one token at a time stays amortised O(1).
  const int32_t cap = std::min(max_positions_, std::max(end, std::max(64, s.capacity * 2)));
  s.k.resize(n_layers_);
  s.v.resize(n_layers_);
  for (int32_t l = 0; l < n_layers_; ++l) {
    s.k[l].resize(static_cast<size_t>(cap) * kv_dim_);
    s.v[l].resize(static_cast<size_t>(cap) * kv_dim_);
  }
  s.capacity = cap;
}

void ContiguousKvCache::write(int32_t layer, int32_t seq, int32_t pos, const float* k, const float* v) {
  Seq& s = seqs_.at(seq);
  std::copy(k, k + kv_dim_, s.k[layer].data() + static_cast<size_t>(pos) * kv_dim_);
  std::copy(v, v + kv_dim_, s.v[layer].data() + static_cast<size_t>(pos) * kv_dim_);
}

models::KvRun ContiguousKvCache::run(int32_t layer, int32_t seq, int32_t pos, int32_t end) const {
  const Seq& s = seqs_.at(seq);
  const size_t off = static_cast<size_t>(pos) * kv_dim_;
  return {s.k[layer].data() + off, s.v[layer].data() + off, pos, end - pos, kv_dim_};
}

}  // namespace chorus::runtime
