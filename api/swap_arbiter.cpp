#include "api/swap_arbiter.h"

#include <algorithm>

#include "chorus/error.h"

namespace chorus::api {

namespace {

// Holds a pin and tells the arbiter when it goes.
struct HeldPin {
  HeldPin(runtime::PinnedExpert p, std::function<void()> f) : pin(std::move(p)), on_release(std::move(f)) {}
  HeldPin(const HeldPin&) = delete;
  HeldPin& operator=(const HeldPin&) = delete;
  ~HeldPin() {
    pin.release();
    on_release();
  }
  runtime::PinnedExpert pin;
  std::function<void()> on_release;
};

}  // namespace

WeightsLease SwapArbiter::lease(const std::string& expert) {
  std::unique_lock lock(mu_);
  const uint64_t ticket = next_ticket_++;
  bool queued = false;
  for (;;) {
    if (!queued || queue_.front() == ticket) {
      if (!queued && !queue_.empty()) {  // others wait already: behind them
        queue_.push_back(ticket);
        queued = true;
        continue;
      }
      lock.unlock();
      try {
        auto held = std::make_shared<HeldPin>(store_.pin(expert), [this] { released(); });
        lock.lock();
        ++held_;
        if (queued) queue_.pop_front();
        changed_.notify_all();
        return WeightsLease{&held->pin.weights(), held};
      } catch (const Error& e) {
        lock.lock();
        if (e.code() != ErrorCode::kResourceExhausted || held_ == 0) {
          if (queued) queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
          changed_.notify_all();
          throw;
        }
        if (!queued) {
          queue_.push_front(ticket);  // it was first: it stays first
          queued = true;
        }
      }
      const int held_before = held_;
      changed_.wait(lock, [&] { return held_ < held_before; });
      continue;
    }
    changed_.wait(lock);
  }
}

void SwapArbiter::released() {
  std::lock_guard lock(mu_);
  --held_;
  changed_.notify_all();
}

bool SwapArbiter::someone_waits() const {
  std::lock_guard lock(mu_);
  return !queue_.empty();
}

}  // namespace chorus::api
