#include "runtime/eviction_policy.h"

#include <algorithm>
#include <numeric>

namespace chorus::runtime {

std::vector<size_t> LruPolicy::eviction_order(Tier, std::span<const EvictionCandidate> candidates) {
  // Rank 0 for experts not named upcoming; else one more than the experts named after it.
  auto rank = [&](std::string_view name) -> size_t {
    const auto it = std::find(upcoming_.begin(), upcoming_.end(), name);
    return it == upcoming_.end() ? 0 : static_cast<size_t>(upcoming_.end() - it);
  };
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t ra = rank(candidates[a].name), rb = rank(candidates[b].name);
    return ra != rb ? ra < rb : candidates[a].last_used < candidates[b].last_used;
  });
  return order;
}

void LruPolicy::set_upcoming(std::span<const std::string> names) { upcoming_.assign(names.begin(), names.end()); }

}  // namespace chorus::runtime
