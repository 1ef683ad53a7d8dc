// Loader threads that run the weight store's moves from a queue, so that a
// prefetch returns at once and the bytes move while the caller computes.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chorus::runtime {

class LoaderQueue {
 public:
  explicit LoaderQueue(int threads);
  ~LoaderQueue();  // calls stop()
  LoaderQueue(const LoaderQueue&) = delete;
  LoaderQueue& operator=(const LoaderQueue&) = delete;

  // Urgent jobs (a pin is waiting) go before the queued prefetches.
  void push(std::function<void()> job, bool urgent);
  // Drops the jobs not started and joins the threads after the running ones finish.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chorus::runtime
