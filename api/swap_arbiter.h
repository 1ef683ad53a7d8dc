// Takes turns at the weight store's resident tier for the experts a Composer
// serves. When the experts that have requests do not all fit the resident
// budget, a pin that finds no room waits (instead of failing) for an expert to
// go idle and unpin; the waiting experts are served first come, first served,
// and an expert that holds a pin stops admitting new requests while another
// waits, so that it drains, unpins and lets the other in (hot swap).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "api/served_engine.h"
#include "runtime/weight_store.h"

namespace chorus::api {

class SwapArbiter {
 public:
  explicit SwapArbiter(runtime::WeightStore& store) : store_(store) {}

  // Pins the expert, waiting for its turn when the resident tier is full of
  // other pinned experts. Throws what the store throws when waiting cannot help
  // (no other expert holds a pin, or any other error).
  WeightsLease lease(const std::string& expert);
  // True while an expert waits for room: the holders should drain.
  bool someone_waits() const;

 private:
  void released();

  runtime::WeightStore& store_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<uint64_t> queue_;  // tickets of the pins waiting for room, in arrival order
  uint64_t next_ticket_ = 0;
  int held_ = 0;                // leases alive
  int pinning_ = 0;             // pins in progress (the store may count them as pinned already)
  uint64_t changes_ = 0;        // bumped whenever a lease goes or a pin attempt ends
  uint64_t releases_ = 0;       // bumped whenever a lease goes
};

}  // namespace chorus::api
