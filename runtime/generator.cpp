#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "chorus/error.h"
#include "runtime/contiguous_kv_cache.h"

namespace chorus::runtime {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerationResult generate(LoadedModel& m, const std::vector<int32_t>& prompt, int32_t max_tokens,
                          const SamplingParams& sampling, const TokenCallback& on_token) {
  const models::LlamaConfig& c = m.model->config();
  if (prompt.empty())
    throw Error(ErrorCode::kInvalidArgument, "generate: the prompt has no tokens (give a prompt, or use a BOS token)");
  if (static_cast<int64_t>(prompt.size()) > c.context_length)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("generate: the prompt has {} tokens, the model's context is {}",
                                                         prompt.size(), c.context_length));
  if (max_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "generate: max_tokens must be >= 0");
  Sampler sampler(sampling);
  const int32_t capacity = static_cast<int32_t>(std::min<int64_t>(c.context_length, prompt.size() + max_tokens));
  ContiguousKvCache kv(c.n_layers, c.kv_dim(), capacity);

  GenerationResult res;
  res.prompt_tokens = static_cast<int32_t>(prompt.size());
  res.stop_reason = "max_tokens";
  std::vector<int32_t> history = prompt;
  std::vector<float> logits;
  const models::Tokenizer& tok = *m.tokenizer;

  auto t0 = std::chrono::steady_clock::now();
  models::SequenceChunk chunk{0, prompt, 0};
  m.model->forward(m.weights, {&chunk, 1}, kv, logits);
  res.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();

  for (int32_t i = 0; i < max_tokens; ++i) {
    const int32_t next = sampler.sample(logits, history);
    if (tok.is_end_of_generation(next)) { res.stop_reason = "eos"; break; }
    if (next == tok.bos_id()) { res.stop_reason = "bos"; break; }
    std::string piece = tok.token_to_piece(next);
    if (history.back() == tok.bos_id() && tok.adds_space_prefix() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    res.text += piece;
    res.tokens.push_back(next);
    history.push_back(next);
    if (on_token) on_token(next, piece);
    if (static_cast<int64_t>(history.size()) >= capacity) {
      if (i + 1 < max_tokens) res.stop_reason = "context";
      break;
    }
    if (i + 1 == max_tokens) break;  // the last token needs no forward pass
    const int32_t pos = static_cast<int32_t>(history.size()) - 1;
    models::SequenceChunk step{0, {&history.back(), 1}, pos};
    m.model->forward(m.weights, {&step, 1}, kv, logits);
  }
  res.decode_seconds = seconds_since(t0);
  return res;
}

}  // namespace chorus::runtime
