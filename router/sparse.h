// A sparse feature vector: sorted, unique indices and their weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chorus::router {

struct SparseVec {
  std::vector<uint32_t> index;
  std::vector<float> value;
  size_t size() const { return index.size(); }
};

}  // namespace chorus::router
