#include "runtime/engine.h"

#include <algorithm>
#include <limits>
#include <chrono>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

namespace {

PagedKvConfig kv_config(const models::LlamaConfig& c, const EngineOptions& o) {
  const int32_t context = std::min(o.max_context, c.context_length);
  const int32_t per_seq = (context + o.block_size - 1) / o.block_size;
  return {c.n_layers, c.kv_dim(), o.block_size, o.kv_blocks > 0 ? o.kv_blocks : per_seq * o.max_running, o.kv_type};
}

}  // namespace

Engine::Engine(const models::LlamaConfig& config, const models::Tokenizer& tokenizer, const EngineOptions& options)
    : model_(config, options.kernels), tokenizer_(tokenizer), opt_(options), kv_(kv_config(config, options)) {
  opt_.max_context = std::min(opt_.max_context, config.context_length);
  model_.set_profile(options.profile);
  if (opt_.max_step_tokens < 1 || opt_.max_running < 1)
    throw Error(ErrorCode::kInvalidArgument, "engine: max_step_tokens and max_running must be at least 1");
}

RequestId Engine::submit(Request r) {
  if (r.prompt.empty()) throw Error(ErrorCode::kInvalidArgument, "engine: a request needs at least one prompt token");
  if (static_cast<int32_t>(r.prompt.size()) > opt_.max_context)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("engine: the prompt has {} tokens, the context is {}",
                                                         r.prompt.size(), opt_.max_context));
  for (int32_t t : r.prompt)
    if (t < 0 || t >= model_.config().vocab_size)
      throw Error(ErrorCode::kInvalidArgument, fmt::format("engine: prompt token {} is outside the vocabulary", t));
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->prompt_len = static_cast<int32_t>(r.prompt.size());
  s->tokens = std::move(r.prompt);
  take_request_fields(*s, r);
  results_[s->id].prompt_tokens = s->prompt_len;
  const RequestId id = s->id;
  if (s->max_tokens <= 0) {
    results_[id].state = RequestState::kFinished;
    results_[id].stop_reason = "max_tokens";
    return id;
  }
  waiting_.push_back(id);
  seqs_[id] = std::move(s);
  return id;
}

RequestId Engine::fork(RequestId parent_id, Request r) {
  auto it = seqs_.find(parent_id);
  if (it == seqs_.end() || !it->second->in_cache)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("engine: request {} is not running: cannot fork it", parent_id));
  const Sequence& p = *it->second;
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->tokens = p.tokens;
  s->tokens.insert(s->tokens.end(), r.prompt.begin(), r.prompt.end());
  s->prompt_len = static_cast<int32_t>(s->tokens.size());
  s->computed = p.computed;
  take_request_fields(*s, r);
  kv_.fork(parent_id, static_cast<int32_t>(s->id));
  s->in_cache = true;
  results_[s->id].prompt_tokens = s->prompt_len;
  results_[s->id].reused_prompt_tokens = s->computed;
  running_.push_back(s->id);
  const RequestId id = s->id;
  seqs_[id] = std::move(s);
  return id;
}

void Engine::take_request_fields(Sequence& s, Request& r) {
  const models::LlamaConfig& c = model_.config();
  if (r.logprobs < 0 || r.logprobs > c.vocab_size)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("engine: logprobs {} is out of range: 0 to the vocabulary size {}", r.logprobs, c.vocab_size));
  if (r.observer) models::validate_selection(r.observer->select, c.n_layers);
  s.max_tokens = r.max_tokens;
  s.sampler = std::make_unique<Sampler>(r.sampling);
  if (r.grammar) s.grammar.emplace(std::move(r.grammar));
  s.on_token = std::move(r.on_token);
  s.observer = std::move(r.observer);
  s.logprobs = r.logprobs;
  s.ignore_eos = r.ignore_eos;
  if (s.ignore_eos && ending_ids_.empty())
    for (int32_t id = 0; id < c.vocab_size; ++id)
      if (ending_reason(id)) ending_ids_.push_back(id);
}

const char* Engine::ending_reason(int32_t id) const {
  if (tokenizer_.is_end_of_generation(id)) return "eos";
  if (id == tokenizer_.bos_id()) return "bos";  // llama2.c's stories end with BOS
  return nullptr;
}

void Engine::cancel(RequestId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  finish(*it->second, RequestState::kCancelled, "cancelled");
}

const RequestResult& Engine::result(RequestId id) const {
  auto it = results_.find(id);
  if (it == results_.end()) throw Error(ErrorCode::kNotFound, fmt::format("engine: no request {}", id));
  return it->second;
}

void Engine::release(RequestId id) {
  if (seqs_.count(id)) throw Error(ErrorCode::kInvalidArgument, fmt::format("engine: request {} is still active", id));
  results_.erase(id);
}

void Engine::finish(Sequence& s, RequestState state, const std::string& reason) {
  RequestResult& r = results_[s.id];
  r.state = state;
  r.stop_reason = reason;
  if (s.in_cache) kv_.free_sequence(static_cast<int32_t>(s.id));
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), s.id), waiting_.end());
  running_.erase(std::remove(running_.begin(), running_.end(), s.id), running_.end());
  seqs_.erase(s.id);  // s is gone after this line
}

// Positions of s's prompt (its last token excluded: that one is always
// computed) that o holds too: equal tokens, among o's first `limit`.
int32_t Engine::common_prompt_prefix(const Sequence& s, const Sequence& o, int32_t limit) {
  const int32_t n = std::min(s.prompt_len - 1, limit);
  int32_t common = 0;
  while (common < n && s.tokens[common] == o.tokens[common]) ++common;
  return common;
}

// A waiting request whose prompt prefix another running sequence is still
// prefilling waits for it, so that siblings submitted together pay the prefix once.
bool Engine::waits_for_shared_prefix(const Sequence& s) const {
  const int32_t cached = kv_.cached_prefix(s.tokens);
  for (RequestId rid : running_) {
    const Sequence& o = *seqs_.at(rid);
    if (o.computed >= o.prompt_len) continue;
    if (common_prompt_prefix(s, o, o.prompt_len) > std::max(cached, o.computed)) return true;
  }
  return false;
}

// After the indexed full blocks, the rest of the prefix that a running
// sequence has computed (a part of a block included) is shared from it.
void Engine::share_from_running(Sequence& s) {
  RequestId donor = 0;
  int32_t best = s.computed;
  for (RequestId rid : running_) {
    const Sequence& o = *seqs_.at(rid);
    const int32_t common = common_prompt_prefix(s, o, o.computed);
    if (common > best) best = common, donor = rid;
  }
  if (best == s.computed) return;
  try {
    kv_.share_prefix_from(static_cast<int32_t>(s.id), static_cast<int32_t>(donor), best);
    s.computed = best;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kResourceExhausted) throw;  // no block for the copy: computed as usual
  }
}

void Engine::admit() {
  for (auto it = waiting_.begin(); it != waiting_.end() && static_cast<int32_t>(running_.size()) < opt_.max_running;) {
    Sequence& s = *seqs_.at(*it);
    const bool share = opt_.share_prefixes && !s.observer;  // an observer sees the whole prompt computed
    if (share && waits_for_shared_prefix(s)) { ++it; continue; }
    const int32_t seq = static_cast<int32_t>(s.id);
    kv_.add_sequence(seq);
    s.in_cache = true;
    // The last prompt token is always computed: its logits choose the first new token.
    if (share) {
      s.computed = kv_.attach_prefix(seq, s.tokens, static_cast<int32_t>(s.tokens.size()) - 1);
      share_from_running(s);
    }
    results_[s.id].reused_prompt_tokens += s.computed;
    stats_.reused_tokens += s.computed;
    running_.push_back(s.id);
    it = waiting_.erase(it);
  }
}

// Frees the most recently admitted sequence; it goes back to the front of the
// queue and recomputes its tokens (prompt and generated so far) when readmitted.
void Engine::preempt_one() {
  const RequestId victim = running_.back();
  running_.pop_back();
  Sequence& s = *seqs_.at(victim);
  kv_.free_sequence(static_cast<int32_t>(victim));
  s.in_cache = false;
  s.computed = 0;
  s.prompt_len = static_cast<int32_t>(s.tokens.size());
  ++results_[victim].preemptions;
  ++stats_.preemptions;
  waiting_.push_front(victim);
}

void Engine::emit(Sequence& s, int32_t token) {
  RequestResult& r = results_[s.id];
  std::string piece = tokenizer_.token_to_piece(token);
  // As llama2.c prints: the space a space-prefixing vocabulary puts after BOS is not shown.
  if (s.tokens.back() == tokenizer_.bos_id() && tokenizer_.adds_space_prefix() && !piece.empty() && piece[0] == ' ')
    piece.erase(0, 1);
  r.tokens.push_back(token);
  r.text += piece;
  s.tokens.push_back(token);
  if (s.on_token) s.on_token(s.id, token, piece);
}

int32_t Engine::choose(Sequence& s, std::span<float> row) {
  if (!s.grammar) return s.sampler->sample(row, s.tokens);
  const auto t0 = std::chrono::steady_clock::now();
  if (!token_trie_) token_trie_ = std::make_unique<TokenTrie>(tokenizer_);
  token_trie_->allowed_tokens(*s.grammar, allowed_);
  const int32_t kept = mask_logits(row, allowed_);
  ++stats_.grammar_masks;
  stats_.grammar_mask_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (kept == 0) return -1;
  int32_t next = s.sampler->sample(row, s.tokens);
  // Sampling never picks a masked token (its probability is 0), but a rounding tail could: fall back to the best.
  if (!allowed_[next]) next = argmax(row);
  return next;
}

bool Engine::step(const models::LlamaWeights& weights) {
  admit();
  if (running_.empty()) return false;

  // Plan the batch; when the pool cannot hold it, preempt and plan again.
  std::vector<models::SequenceChunk> chunks;
  std::vector<Sequence*> members;
  for (;;) {
    chunks.clear();
    members.clear();
    int32_t budget = opt_.max_step_tokens;
    int32_t blocks = 0;
    // Decoding sequences first (one token each), then prefill chunks in admission order.
    for (int pass = 0; pass < 2; ++pass) {
      for (RequestId rid : running_) {
        Sequence& s = *seqs_.at(rid);
        const int32_t remaining = static_cast<int32_t>(s.tokens.size()) - s.computed;
        const bool decoding = remaining == 1 && s.computed >= s.prompt_len - 1;
        if ((pass == 0) != decoding || budget == 0) continue;
        const int32_t n = std::min(remaining, budget);
        budget -= n;
        blocks += kv_.blocks_needed(static_cast<int32_t>(rid), s.computed + n);
        chunks.push_back({static_cast<int32_t>(rid), {s.tokens.data() + s.computed, static_cast<size_t>(n)}, s.computed,
                          false, s.observer.get()});
        members.push_back(&s);
      }
    }
    if (blocks <= kv_.free_blocks()) break;
    if (running_.size() == 1) {
      Sequence& s = *seqs_.at(running_.front());
      finish(s, RequestState::kFailed,
             fmt::format("KV pool too small: one sequence needs {} blocks, the pool has {}", blocks, kv_.total_blocks()));
      return true;
    }
    preempt_one();
  }
  for (const auto& c : chunks) kv_.reserve(c.seq, c.start_pos + static_cast<int32_t>(c.tokens.size()));
  stats_.peak_kv_bytes = std::max<int64_t>(stats_.peak_kv_bytes, kv_.bytes_in_use());

  model_.forward(weights, chunks, kv_, logits_);
  ++stats_.steps;
  const std::vector<int32_t>& cancelled = model_.cancelled_by_observers();

  const size_t V = model_.config().vocab_size;
  for (size_t i = 0; i < chunks.size(); ++i) {
    Sequence& s = *members[i];
    if (std::find(cancelled.begin(), cancelled.end(), chunks[i].seq) != cancelled.end()) {
      finish(s, RequestState::kCancelled, "cancelled");
      continue;
    }
    const int32_t n = static_cast<int32_t>(chunks[i].tokens.size());
    const bool was_decode = s.computed >= s.prompt_len;
    (was_decode ? stats_.decode_tokens : stats_.prefill_tokens) += n;
    s.computed += n;
    if (opt_.share_prefixes)
      kv_.publish_prefix(static_cast<int32_t>(s.id), {s.tokens.data(), static_cast<size_t>(s.prompt_len)}, s.computed);
    if (s.computed < static_cast<int32_t>(s.tokens.size())) continue;  // prefill continues next step

    std::span<float> row(logits_.data() + i * V, V);
    if (s.logprobs > 0) log_softmax(row, logprobs_);  // before choose() penalises and masks the row
    if (s.ignore_eos)
      for (int32_t id : ending_ids_) row[id] = -std::numeric_limits<float>::infinity();
    int32_t next;
    try {
      next = choose(s, row);
    } catch (const Error& e) {  // a grammar too ambiguous for its output: this request fails, the batch goes on
      finish(s, RequestState::kFailed, e.what());
      continue;
    }
    RequestResult& r = results_[s.id];
    if (next < 0) { finish(s, RequestState::kFailed, "grammar: no token of the vocabulary can continue the text"); continue; }
    if (const char* reason = ending_reason(next)) { finish(s, RequestState::kFinished, reason); continue; }
    // The grammar reads the token's own bytes (the ones its mask checked).
    if (s.grammar) s.grammar->accept(tokenizer_.token_to_piece(next));
    if (s.logprobs > 0) r.logprobs.push_back({next, logprobs_[next], top_logprobs(logprobs_, s.logprobs)});
    emit(s, next);
    if (s.grammar && !s.grammar->can_continue()) { finish(s, RequestState::kFinished, "grammar"); continue; }
    if (static_cast<int32_t>(r.tokens.size()) >= s.max_tokens) { finish(s, RequestState::kFinished, "max_tokens"); continue; }
    if (static_cast<int32_t>(s.tokens.size()) >= opt_.max_context) finish(s, RequestState::kFinished, "context");
  }
  return true;
}

void Engine::run_until_idle(const models::LlamaWeights& weights) {
  while (!idle()) step(weights);
}

}  // namespace chorus::runtime
