#include "runtime/explain.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "chorus/activation_cache.h"
#include "chorus/error.h"
#include "runtime/contiguous_kv_cache.h"

namespace chorus::runtime {

namespace {

void check(const models::LlamaConfig& c, std::span<const int32_t> tokens, const ExplainOptions& o) {
  const int64_t limit = std::min<int64_t>(kMaxExplainTokens, c.context_length);
  if (tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "explain: the prompt has no tokens");
  if (static_cast<int64_t>(tokens.size()) > limit)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("explain: the prompt has {} tokens; explain reads at most {}", tokens.size(), limit));
  if (o.top_k < 1 || o.top_positions < 1)
    throw Error(ErrorCode::kInvalidArgument, "explain: top_k and top_positions must be at least 1");
  for (int32_t l : o.layers)
    if (l < 0 || l >= c.n_layers)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("explain: layer {} is outside the model's layers 0..{}", l, c.n_layers - 1));
}

// Per row of `logits` (rows x vocab): its top-k log-probabilities.
std::vector<std::vector<TokenLogprob>> top_of_rows(const std::vector<float>& logits, int64_t vocab, int32_t k) {
  std::vector<std::vector<TokenLogprob>> out;
  std::vector<float> logp;
  for (size_t r = 0; r * vocab < logits.size(); ++r) {
    log_softmax({logits.data() + r * vocab, static_cast<size_t>(vocab)}, logp);
    out.push_back(top_logprobs(logp, k));
  }
  return out;
}

// Entropy (bits) and most attended keys of each head's query rows.
void summarize_attention(ExplainedLayer& L, int64_t heads, int64_t n, int32_t top_positions) {
  L.entropy.assign(heads * n, 0.0f);
  L.top.assign(heads * n, {});
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t q = 0; q < n; ++q) {
      const float* p = &L.probs[(h * n + q) * n];
      double entropy = 0.0;
      for (int64_t k = 0; k < n; ++k)
        if (p[k] > 0) entropy -= p[k] * std::log2(static_cast<double>(p[k]));
      L.entropy[h * n + q] = static_cast<float>(entropy);
      std::vector<AttendedPosition> keys;
      for (int64_t k = 0; k <= q; ++k) keys.push_back({static_cast<int32_t>(k), p[k]});
      const size_t m = std::min<size_t>(top_positions, keys.size());
      std::partial_sort(keys.begin(), keys.begin() + m, keys.end(),
                        [](const AttendedPosition& a, const AttendedPosition& b) { return a.prob > b.prob; });
      keys.resize(m);
      L.top[h * n + q] = std::move(keys);
    }
  }
}

}  // namespace

Explanation explain(LoadedModel& m, std::span<const int32_t> tokens, const ExplainOptions& o) {
  const models::LlamaConfig& c = m.file.config;
  check(c, tokens, o);
  const int64_t n = static_cast<int64_t>(tokens.size()), heads = c.n_heads, dim = c.dim;
  Explanation e;
  e.tokens.assign(tokens.begin(), tokens.end());
  for (int32_t t : tokens) e.pieces.push_back(m.tokenizer->token_to_piece(t));
  e.n_heads = c.n_heads;
  std::vector<int32_t> layers = o.layers;
  if (layers.empty())
    for (int32_t l = 0; l < c.n_layers; ++l) layers.push_back(l);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());

  // One forward pass over the prompt, all logits, keeping each explained layer's output and attention.
  ActivationCache cache;
  const auto observer = cache.observer({{"attn.probs", "resid_post"}, layers, {}});
  ContiguousKvCache kv(c.n_layers, c.kv_dim(), static_cast<int32_t>(n));
  models::LlamaModel model(c, m.model->kernel_config());
  const models::SequenceChunk chunk{0, tokens, 0, true, observer.get()};
  std::vector<float> logits;
  model.forward(m.weights, {&chunk, 1}, kv, logits);
  e.next = top_of_rows(logits, c.vocab_size, o.top_k);

  for (int32_t l : layers) {
    ExplainedLayer& L = e.layers.emplace_back();
    L.layer = l;
    const std::vector<float>& resid = cache.entries.at(fmt::format("blk.{}.resid_post", l)).front().data;
    for (int64_t p = 0; p < n; ++p) {
      double sq = 0.0;
      for (int64_t d = 0; d < dim; ++d) sq += static_cast<double>(resid[p * dim + d]) * resid[p * dim + d];
      L.resid_norm.push_back(static_cast<float>(std::sqrt(sq)));
    }
    // [positions, heads, keys] -> [heads, positions, keys]
    const std::vector<float>& probs = cache.entries.at(fmt::format("blk.{}.attn.probs", l)).front().data;
    L.probs.resize(heads * n * n);
    for (int64_t q = 0; q < n; ++q)
      for (int64_t h = 0; h < heads; ++h) std::copy_n(&probs[(q * heads + h) * n], n, &L.probs[(h * n + q) * n]);
    summarize_attention(L, heads, n, o.top_positions);
    model.classify(m.weights, resid, logits);
    L.lens = top_of_rows(logits, c.vocab_size, o.top_k);
  }
  return e;
}

}  // namespace chorus::runtime
