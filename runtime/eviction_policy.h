// Which unpinned experts leave a full tier first. The store asks the policy
// for an order and evicts from the front until the incoming expert fits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tier_budget.h"

namespace chorus::runtime {

struct EvictionCandidate {
  std::string_view name;
  uint64_t bytes;      // what evicting it frees in the tier
  uint64_t last_used;  // the store's logical clock at its last pin or prefetch
};

// The store calls a policy under its lock, from any thread: implementations
// must be quick and must not call back into the store.
class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // Indexes into `candidates`, in the order to evict them; candidates left out are kept.
  virtual std::vector<size_t> eviction_order(Tier tier, std::span<const EvictionCandidate> candidates) = 0;
  // The experts the caller (the composition executor) will run next, soonest
  // first; replaces the previous hint.
  virtual void set_upcoming(std::span<const std::string> names) = 0;
};

// Least recently used first; experts named as upcoming go last, the soonest
// needed last of all.
class LruPolicy final : public EvictionPolicy {
 public:
  std::vector<size_t> eviction_order(Tier tier, std::span<const EvictionCandidate> candidates) override;
  void set_upcoming(std::span<const std::string> names) override;

 private:
  std::vector<std::string> upcoming_;
};

}  // namespace chorus::runtime
