// The tiers of the weight store and the byte budget of one tier.
#pragma once

#include <cstdint>

namespace chorus::runtime {

enum class Tier { kDisk = 0, kHost = 1, kResident = 2 };

inline const char* tier_name(Tier t) {
  switch (t) {
    case Tier::kDisk: return "disk";
    case Tier::kHost: return "host";
    case Tier::kResident: return "resident";
  }
  return "?";
}

// What a tier may hold and what it holds: copies in place plus reservations for
// copies being loaded, so that a load in flight already counts. Not locked: the
// store's mutex guards it.
struct TierBudget {
  uint64_t limit = 0;
  uint64_t used = 0;

  uint64_t free() const { return limit - used; }
  bool fits(uint64_t bytes) const { return bytes <= limit - used; }
  void reserve(uint64_t bytes) { used += bytes; }  // callers check fits() first
  void release(uint64_t bytes) { used -= bytes; }
};

}  // namespace chorus::runtime
