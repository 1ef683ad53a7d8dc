// One runtime::Engine served to many threads. Callers hand in a request and
// wait on their own channel; a driver thread owns the engine and runs forward
// passes while any request is active, so requests from different threads join
// one continuous batch. The weights are leased only while the engine has work
// (for an expert of a composition, a store pin: idle experts may be evicted).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chorus/error.h"
#include "chorus/model.h"
#include "models/llama_config.h"
#include "models/llama_weights.h"
#include "models/tokenizer.h"
#include "runtime/engine.h"

namespace chorus::api {

// Weights valid while `keep` lives (a store pin, or nothing for a model's own mapping).
struct WeightsLease {
  const models::LlamaWeights* weights = nullptr;
  std::shared_ptr<void> keep;
};
using WeightsSource = std::function<WeightsLease()>;

// Called on the caller's thread with each generated token (and its log-probabilities when the
// request asked for them, else null); false stops the request.
using PieceCallback =
    std::function<bool(int32_t token, const std::string& piece, const runtime::TokenLogprobs* logprobs)>;

struct ServedResult {
  runtime::RequestResult result;
  double queue_seconds = 0.0;        // handed in → admitted to the batch (approximately: its first step)
  double first_token_seconds = 0.0;  // handed in → first token
  double total_seconds = 0.0;
};

class ServedEngine {
 public:
  // `threads`: OpenMP threads of the driver's forward passes (0: the default).
  // `should_drain` (may be empty): while it says true, requests that arrive
  // wait until the running ones finish and the weights are released.
  ServedEngine(const models::LlamaConfig& config, const models::Tokenizer& tokenizer,
               const runtime::EngineOptions& options, WeightsSource weights, int32_t threads,
               std::function<bool()> should_drain = {});
  // Cancels what is still running and joins the driver.
  ~ServedEngine();
  ServedEngine(const ServedEngine&) = delete;
  ServedEngine& operator=(const ServedEngine&) = delete;

  // Runs one request to its end and returns its result. `on_token` (may be
  // empty) runs on this thread; `cancel` (may be null) is polled every step.
  // Throws chorus::Error when the engine refuses the request or the weights cannot be had.
  ServedResult run(runtime::Request request, const PieceCallback& on_token, const std::atomic<bool>* cancel);

  EngineLoad load() const;
  const models::Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  struct Call;
  void drive();
  void admit_pending();
  std::vector<std::shared_ptr<Call>> finish_done_calls();  // taken out of the engine, not yet told
  void fail_all(const std::string& why, ErrorCode code);
  void publish_load();

  const models::Tokenizer& tokenizer_;
  runtime::Engine engine_;
  WeightsSource weights_;
  int32_t threads_;
  std::function<bool()> should_drain_;
  WeightsLease lease_;

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Call>> incoming_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::vector<std::shared_ptr<Call>> pending_;  // the driver's only: taken in, not yet in the engine
  std::vector<std::shared_ptr<Call>> active_;   // the driver's only: in the engine

  struct LoadCounters {
    std::atomic<int32_t> waiting{0}, running{0};
    std::atomic<int64_t> kv_used{0}, kv_total{0}, steps{0}, prompt_tokens{0}, generated_tokens{0};
    std::atomic<int64_t> grammar_masks{0};
    std::atomic<double> grammar_mask_seconds{0};
  } counters_;
  std::thread driver_;
};

}  // namespace chorus::api
