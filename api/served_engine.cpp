#include "api/served_engine.h"

#include <chrono>
#include <optional>

#include <omp.h>

#include "chorus/error.h"

namespace chorus::api {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

// One caller's request and the channel its tokens come back through.
struct ServedEngine::Call {
  runtime::Request request;
  bool request_logprobs = false;
  const std::atomic<bool>* cancel = nullptr;
  std::atomic<bool> stop{false};  // the caller's callback said stop
  runtime::RequestId id = 0;
  Clock::time_point submitted = Clock::now();

  std::mutex m;
  std::condition_variable cv;
  struct Token {
    int32_t id;
    std::string piece;
    std::optional<runtime::TokenLogprobs> logprobs;
  };
  std::deque<Token> tokens;  // generated, not yet handed to the caller
  double first_token_seconds = 0.0;
  double admitted_seconds = -1.0;
  bool done = false;
  runtime::RequestResult result;
  std::string error;
  ErrorCode error_code = ErrorCode::kInternal;
};

ServedEngine::ServedEngine(const models::LlamaConfig& config, const models::Tokenizer& tokenizer,
                           const runtime::EngineOptions& options, WeightsSource weights, int32_t threads,
                           std::function<bool()> should_drain)
    : tokenizer_(tokenizer),
      engine_(config, tokenizer, options),
      weights_(std::move(weights)),
      threads_(threads),
      should_drain_(std::move(should_drain)) {
  counters_.kv_total = engine_.kv().total_blocks();
  driver_ = std::thread([this] { drive(); });
}

ServedEngine::~ServedEngine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  driver_.join();
}

ServedResult ServedEngine::run(runtime::Request request, const PieceCallback& on_token,
                               const std::atomic<bool>* cancel) {
  auto call = std::make_shared<Call>();
  call->cancel = cancel;
  call->request = std::move(request);
  // The engine's stream callback runs on the driver: it only queues the token for the caller.
  call->request.on_token = [this, c = call.get()](runtime::RequestId id, int32_t token, const std::string& piece) {
    std::optional<runtime::TokenLogprobs> logprobs;
    if (c->request_logprobs) logprobs = engine_.result(id).logprobs.back();  // recorded before the token is emitted
    std::lock_guard lock(c->m);
    if (c->tokens.empty() && c->first_token_seconds == 0.0) c->first_token_seconds = since(c->submitted);
    c->tokens.push_back({token, piece, std::move(logprobs)});
    c->cv.notify_one();
  };
  call->request_logprobs = call->request.logprobs > 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw Error(ErrorCode::kCancelled, "the model is closing: no new requests");
    incoming_.push_back(call);
  }
  work_.notify_one();

  ServedResult out;
  bool stopped = false;
  std::deque<Call::Token> batch;
  for (;;) {
    bool done;
    {
      std::unique_lock lock(call->m);
      call->cv.wait(lock, [&] { return !call->tokens.empty() || call->done; });
      batch.swap(call->tokens);
      done = call->done;
    }
    for (const Call::Token& t : batch) {
      if (stopped || !on_token) continue;
      if (!on_token(t.id, t.piece, t.logprobs ? &*t.logprobs : nullptr)) {
        stopped = true;
        call->stop = true;  // the driver cancels it before its next step
      }
    }
    batch.clear();
    if (done) break;
  }
  if (!call->error.empty()) throw Error(call->error_code, call->error);
  out.result = std::move(call->result);
  out.first_token_seconds = call->first_token_seconds;
  out.queue_seconds = std::max(0.0, call->admitted_seconds);
  out.total_seconds = since(call->submitted);
  return out;
}

void ServedEngine::drive() {
  if (threads_ > 0) omp_set_num_threads(threads_);  // this thread's parallel regions: the model's own setting
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !incoming_.empty() || !active_.empty() || !pending_.empty(); });
      pending_.insert(pending_.end(), incoming_.begin(), incoming_.end());
      incoming_.clear();
      if (stopping_) {
        lock.unlock();
        active_.insert(active_.end(), pending_.begin(), pending_.end());
        pending_.clear();
        fail_all("the model was closed while the request ran", ErrorCode::kCancelled);
        return;
      }
    }
    // Another expert waits for room: finish what runs, release the weights, then take the new ones in.
    const bool draining = lease_.weights && should_drain_ && should_drain_();
    if (!draining) admit_pending();
    for (auto& c : active_)
      if (c->stop || (c->cancel && c->cancel->load())) engine_.cancel(c->id);
    if (!engine_.idle()) {
      try {
        if (!lease_.weights) lease_ = weights_();
        engine_.step(*lease_.weights);
      } catch (const Error& e) {
        fail_all(e.what(), e.code());
      } catch (const std::bad_alloc&) {
        fail_all("out of memory while running the batch", ErrorCode::kResourceExhausted);
      } catch (const std::exception& e) {
        fail_all(e.what(), ErrorCode::kInternal);
      }
    }
    const std::vector<std::shared_ptr<Call>> finished = finish_done_calls();
    if (engine_.idle()) lease_ = {};  // unpinned between bursts of work
    publish_load();  // before the callers wake: what they read next is up to date
    for (const auto& c : finished) {
      std::lock_guard lock(c->m);
      c->done = true;
      c->cv.notify_one();
    }
  }
}

void ServedEngine::admit_pending() {
  for (auto& c : pending_) {
    try {
      c->id = engine_.submit(std::move(c->request));
      active_.push_back(std::move(c));
    } catch (const Error& e) {
      std::lock_guard lock(c->m);
      c->error = e.what();
      c->error_code = e.code();
      c->done = true;
      c->cv.notify_one();
    }
  }
  pending_.clear();
}

std::vector<std::shared_ptr<ServedEngine::Call>> ServedEngine::finish_done_calls() {
  std::vector<std::shared_ptr<Call>> finished;
  for (auto it = active_.begin(); it != active_.end();) {
    Call& c = **it;
    const runtime::RequestResult& r = engine_.result(c.id);
    if (r.state == runtime::RequestState::kRunning || r.state == runtime::RequestState::kWaiting) {
      if (c.admitted_seconds < 0 && r.state == runtime::RequestState::kRunning) c.admitted_seconds = since(c.submitted);
      ++it;
      continue;
    }
    {
      std::lock_guard lock(c.m);
      c.result = r;
      if (r.state == runtime::RequestState::kFailed) {
        c.error = r.stop_reason;
        c.error_code = r.stop_reason.starts_with("KV pool") ? ErrorCode::kResourceExhausted : ErrorCode::kInvalidArgument;
      }
    }
    engine_.release(c.id);
    finished.push_back(std::move(*it));
    it = active_.erase(it);
  }
  return finished;
}

void ServedEngine::fail_all(const std::string& why, ErrorCode code) {
  for (auto& c : active_) {
    engine_.cancel(c->id);
    engine_.release(c->id);
    std::lock_guard lock(c->m);
    c->error = why;
    c->error_code = code;
    c->done = true;
    c->cv.notify_one();
  }
  active_.clear();
  lease_ = {};
}

void ServedEngine::publish_load() {
  const runtime::EngineStats& st = engine_.stats();
  counters_.waiting = engine_.waiting_count() + static_cast<int32_t>(pending_.size());
  counters_.running = engine_.running_count();
  counters_.kv_used = engine_.kv().total_blocks() - engine_.kv().free_blocks();
  counters_.steps = st.steps;
  counters_.prompt_tokens = st.prefill_tokens;
  counters_.generated_tokens = st.decode_tokens;
  counters_.grammar_masks = st.grammar_masks;
  counters_.grammar_mask_seconds = st.grammar_mask_seconds;
}

EngineLoad ServedEngine::load() const {
  EngineLoad l;
  l.waiting = counters_.waiting;
  l.running = counters_.running;
  l.kv_blocks_used = counters_.kv_used;
  l.kv_blocks_total = counters_.kv_total;
  l.steps = counters_.steps;
  l.prompt_tokens = counters_.prompt_tokens;
  l.generated_tokens = counters_.generated_tokens;
  l.grammar_masks = counters_.grammar_masks;
  l.grammar_mask_seconds = counters_.grammar_mask_seconds;
  return l;
}

}  // namespace chorus::api
