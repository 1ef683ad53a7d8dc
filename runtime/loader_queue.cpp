#include "runtime/loader_queue.h"

#include <algorithm>

namespace chorus::runtime {

LoaderQueue::LoaderQueue(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

LoaderQueue::~LoaderQueue() { stop(); }

void LoaderQueue::push(std::function<void()> job, bool urgent) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (urgent)
      jobs_.push_front(std::move(job));
    else
      jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void LoaderQueue::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

void LoaderQueue::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();  // jobs report their own errors (the store's jobs never throw)
  }
}

}  // namespace chorus::runtime
