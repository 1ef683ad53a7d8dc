// The bounded queue in front of the engines: at most `capacity` completion
// requests are admitted (running or waiting for a batch slot) at once; the
// next one is refused (429 with Retry-After) instead of waiting without bound.
#pragma once

#include <atomic>
#include <cstdint>

namespace chorus::serve {

class Admission {
 public:
  explicit Admission(int64_t capacity) : capacity_(capacity) {}

  // Holds one place while it lives.
  class Ticket {
   public:
    explicit Ticket(Admission* owner) : owner_(owner) {}
    Ticket(Ticket&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
      if (owner_) owner_->in_flight_.fetch_sub(1);
    }
    bool admitted() const { return owner_ != nullptr; }

   private:
    Admission* owner_;
  };

  // A ticket that is not admitted() when the queue is full.
  Ticket try_admit() {
    int64_t n = in_flight_.load();
    while (n < capacity_)
      if (in_flight_.compare_exchange_weak(n, n + 1)) return Ticket(this);
    return Ticket(nullptr);
  }
  int64_t in_flight() const { return in_flight_.load(); }
  int64_t capacity() const { return capacity_; }

 private:
  const int64_t capacity_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace chorus::serve
