#include "api/swap_arbiter.h"

#include <optional>

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
  // First come, first served: behind those already waiting for room.
  if (!queue_.empty()) {
    queue_.push_back(ticket);
    changed_.wait(lock, [&] { return queue_.front() == ticket; });
  }
  for (;;) {
    ++pinning_;
    const uint64_t releases_before = releases_;
    lock.unlock();
    std::shared_ptr<HeldPin> held;
    std::optional<Error> refused;
    try {
      held = std::make_shared<HeldPin>(store_.pin(expert), [this] { released(); });
    } catch (const Error& e) {
      refused = e;
    }
    lock.lock();
    --pinning_;
    // A lease that went while we tried may have made the room the store
    // refused: try again at once. (Only a release makes room: counting other
    // refused attempts here would let two waiters retry each other forever.)
    const bool stale_refusal = releases_ != releases_before;
    ++changes_;
    if (held) ++held_;
    const bool no_room = refused && refused->code() == ErrorCode::kResourceExhausted;
    const bool waiting_helps = no_room && (stale_refusal || held_ + pinning_ > 0);
    if (held || !waiting_helps) {
      if (!queue_.empty() && queue_.front() == ticket) queue_.pop_front();
      changed_.notify_all();
      if (refused) throw *refused;
      return WeightsLease{&held->pin.weights(), held};
    }
    // The tier is full of experts that are pinned or being pinned: wait at the head of the queue for one to change.
    if (queue_.empty() || queue_.front() != ticket) queue_.push_front(ticket);
    const uint64_t seen = changes_;
    changed_.notify_all();
    if (!stale_refusal) changed_.wait(lock, [&] { return changes_ != seen; });
  }
}

void SwapArbiter::released() {
  std::lock_guard lock(mu_);
  --held_;
  ++releases_;
  ++changes_;
  changed_.notify_all();
}

bool SwapArbiter::someone_waits() const {
  std::lock_guard lock(mu_);
  return !queue_.empty();
}

}  // namespace chorus::api
