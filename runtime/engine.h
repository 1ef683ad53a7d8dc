// The batch engine: holds many sequences and, each step, packs every running
// sequence's new tokens (prefill chunks under a per-step token budget, one
// decode token per decoding sequence) into one forward pass. A new request
// joins at the next step; a finished one leaves at once. KV lives in the paged
// cache; requests with a common prompt prefix share its blocks and its prefill.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "chorus/observer.h"
#include "kernels/kernel_config.h"
#include "models/llama_model.h"
#include "models/tokenizer.h"
#include "runtime/grammar_mask.h"
#include "runtime/grammar_state.h"
#include "runtime/logprobs.h"
#include "runtime/paged_kv_cache.h"
#include "runtime/sampler.h"

namespace chorus::runtime {

struct EngineOptions {
  int32_t block_size = 16;
  int32_t kv_blocks = 0;            // 0: enough for max_running sequences of max_context positions
  models::KvType kv_type = models::KvType::kF32;
  int32_t max_step_tokens = 256;    // prefill + decode tokens per forward pass
  int32_t max_running = 64;         // sequences in the batch at once
  int32_t max_context = 2048;       // cap on positions per sequence (and the model's own context)
  bool share_prefixes = true;       // attach cached prompt prefixes (off: every prompt is computed)
  kernels::KernelConfig kernels = kernels::default_kernel_config();  // the model's kernel path and activations
  models::ForwardProfile* profile = nullptr;  // when set, the forward passes add their times to it
};

using RequestId = int64_t;
// Called with each generated token and its printable piece.
using StreamCallback = std::function<void(RequestId id, int32_t token, const std::string& piece)>;

struct Request {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 256;
  SamplingParams sampling;
  StreamCallback on_token;
  // When set, every token is chosen among those the grammar can read next (EOS
  // only where the grammar is complete); generation stops with "grammar" once
  // the grammar is complete and can read nothing more.
  std::shared_ptr<const Grammar> grammar = nullptr;
  // When set, it sees the activations it selected for this request's rows only
  // (chorus/observer.h). An observed request computes its whole prompt (no
  // prefix from the cache), so the observer sees every position once (again
  // after a preemption; a fork's observer sees the positions after the fork).
  std::shared_ptr<const Observer> observer = nullptr;
  // N > 0: each generated token's log-probability and the N most likely
  // tokens, from the model's distribution before sampling penalties, temperature and grammar.
  int32_t logprobs = 0;
  // For benchmarks (llama.cpp's --ignore-eos): the end-of-generation tokens
  // and BOS, where the engine also ends, are never chosen (their logits are
  // set to -inf before sampling), so the request generates max_tokens tokens
  // unless its context fills.
  bool ignore_eos = false;
};

enum class RequestState { kWaiting, kRunning, kFinished, kCancelled, kFailed };

struct RequestResult {
  RequestState state = RequestState::kWaiting;
  std::vector<int32_t> tokens;   // generated
  std::string text;
  std::string stop_reason;       // eos, bos, max_tokens, context, grammar, cancelled (also by an observer), or the error
  int32_t prompt_tokens = 0;
  int32_t reused_prompt_tokens = 0;  // attached from the prefix cache instead of computed
  int32_t preemptions = 0;
  std::vector<TokenLogprobs> logprobs;  // with Request::logprobs > 0: one per generated token
};

struct EngineStats {
  int64_t steps = 0;
  int64_t prefill_tokens = 0;    // computed prompt positions
  int64_t decode_tokens = 0;
  int64_t reused_tokens = 0;     // prompt positions served by shared blocks
  int64_t preemptions = 0;
  int64_t peak_kv_bytes = 0;
  int64_t grammar_masks = 0;          // token masks computed for grammar-constrained requests
  double grammar_mask_seconds = 0.0;  // time spent computing them
};

class Engine {
 public:
  Engine(const models::LlamaConfig& config, const models::Tokenizer& tokenizer, const EngineOptions& options);

  RequestId submit(Request request);
  // A running request's continuation: the child shares the parent's KV blocks
  // and tokens so far, then follows its own sampling (and extra prompt, if any).
  RequestId fork(RequestId parent, Request continuation);
  void cancel(RequestId id);

  // One batched forward pass over every running sequence; false when there was nothing to run.
  bool step(const models::LlamaWeights& weights);
  void run_until_idle(const models::LlamaWeights& weights);

  bool idle() const { return waiting_.empty() && running_.empty(); }
  int32_t waiting_count() const { return static_cast<int32_t>(waiting_.size()); }
  int32_t running_count() const { return static_cast<int32_t>(running_.size()); }
  const RequestResult& result(RequestId id) const;
  // Forgets a request that is no longer waiting or running (a long-lived
  // engine would otherwise keep every result); an unknown id is ignored.
  void release(RequestId id);
  const EngineStats& stats() const { return stats_; }
  const PagedKvCache& kv() const { return kv_; }

 private:
  struct Sequence {
    RequestId id;
    std::vector<int32_t> tokens;  // prompt + generated
    int32_t prompt_len = 0;
    int32_t computed = 0;         // positions whose K/V are in the cache
    int32_t max_tokens = 0;
    std::unique_ptr<Sampler> sampler;
    std::optional<GrammarState> grammar;
    StreamCallback on_token;
    std::shared_ptr<const Observer> observer;
    int32_t logprobs = 0;
    bool ignore_eos = false;
    bool in_cache = false;
  };
  // The request's fields every new sequence takes (submit and fork).
  void take_request_fields(Sequence& s, Request& r);
  void admit();
  static int32_t common_prompt_prefix(const Sequence& s, const Sequence& o, int32_t limit);
  bool waits_for_shared_prefix(const Sequence& s) const;
  void share_from_running(Sequence& s);
  void preempt_one();
  void finish(Sequence& s, RequestState state, const std::string& reason);
  // "eos" or "bos" when a sequence ends at token id (its finish reason), else null.
  const char* ending_reason(int32_t id) const;
  void emit(Sequence& s, int32_t token);
  // Samples the next token of a sequence from its logits row, under its grammar if it has one;
  // -1 when the grammar leaves no token.
  int32_t choose(Sequence& s, std::span<float> row);

  models::LlamaModel model_;
  const models::Tokenizer& tokenizer_;
  EngineOptions opt_;
  PagedKvCache kv_;
  RequestId next_id_ = 1;
  std::unordered_map<RequestId, std::unique_ptr<Sequence>> seqs_;
  std::unordered_map<RequestId, RequestResult> results_;
  std::deque<RequestId> waiting_;
  std::vector<RequestId> running_;   // in admission order
  std::vector<float> logits_;
  std::vector<float> logprobs_;  // the row being sampled, log-softmaxed (for requests with logprobs)
  std::unique_ptr<TokenTrie> token_trie_;  // built for the first grammar request
  std::vector<uint8_t> allowed_;
  std::vector<int32_t> ending_ids_;  // every id ending_reason() names: found for the first ignore_eos request
  EngineStats stats_;
};

}  // namespace chorus::runtime
