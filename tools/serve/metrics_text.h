// What the server counts, and /metrics: those counts with the composer's
// engines and weight store, in the Prometheus text format (version 0.0.4).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "chorus/composer.h"

namespace chorus::serve {

class ServeCounters {
 public:
  // One finished HTTP request: its route ("other" for paths the server does not serve) and status.
  void count_response(const std::string& route, int status);
  void count_tokens(int64_t prompt, int64_t completion);
  void count_disconnect() { disconnects_.fetch_add(1); }

  std::map<std::pair<std::string, int>, uint64_t> responses() const;
  int64_t prompt_tokens() const { return prompt_tokens_.load(); }
  int64_t completion_tokens() const { return completion_tokens_.load(); }
  int64_t disconnects() const { return disconnects_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> responses_;  // guarded by mu_
  std::atomic<int64_t> prompt_tokens_{0}, completion_tokens_{0}, disconnects_{0};
};

struct QueueState {
  int64_t in_flight = 0;   // admitted completion requests
  int64_t capacity = 0;    // --max-queue
};

std::string prometheus_text(const ServeCounters& counters, const QueueState& queue, const ComposerMetrics& composer);

}  // namespace chorus::serve
