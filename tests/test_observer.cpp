// The observer API on stories260K: an observer sees exactly the activations it
// selected, in the order the forward pass computes them, for its own rows only;
// what it sees is what the forward pass computes; another request is unaffected.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chorus/activation_cache.h"
#include "chorus/error.h"
#include "chorus/observer.h"
#include "models/llama_model.h"
#include "runtime/contiguous_kv_cache.h"
#include "runtime/engine.h"
#include "runtime/loaded_model.h"
#include "tests/stories_reference.h"
#include "tests/test_paths.h"

namespace {

using namespace chorus::runtime;
using chorus::ActivationView;
using chorus::Observer;
using chorus::models::SequenceChunk;

// What one callback saw, copied.
struct Seen {
  int64_t request;
  std::string name;
  int32_t layer, position;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

std::shared_ptr<Observer> recorder(std::vector<Seen>& out, chorus::ObserverSelection select) {
  auto o = std::make_shared<Observer>();
  o->select = std::move(select);
  o->on_activation = [&out](const ActivationView& v) {
    int64_t n = 1;
    for (int64_t d : v.shape) n *= d;
    out.push_back({v.request, std::string(v.name), v.layer, v.position, {v.shape.begin(), v.shape.end()},
                   {v.data, v.data + n}});
    return true;
  };
  return o;
}

const std::vector<int32_t> kPrompt = {1, 403, 407, 261, 378, 432};

std::vector<float> forward_once(const std::vector<int32_t>& tokens, const Observer* observer) {
  LoadedModel& m = chorus::test::stories_model();
  ContiguousKvCache kv(m.file.config.n_layers, m.file.config.kv_dim(), 32);
  chorus::models::LlamaModel model(m.file.config);
  SequenceChunk chunk{5, tokens, 0, true, observer};
  std::vector<float> logits;
  model.forward(m.weights, {&chunk, 1}, kv, logits);
  return logits;
}

TEST(Observer, SeesExactlyTheSelectedNamesLayersAndPositionsInOrder) {
  std::vector<Seen> seen;
  auto o = recorder(seen, {{"logits", "attn.probs", "resid_pre", "ffn.act"}, {1, 3}, {1, 3, 4}});
  const auto& c = chorus::test::stories_model().file.config;
  const std::vector<float> logits = forward_once(kPrompt, o.get());
  std::vector<std::string> got;
  for (const Seen& s : seen) got.push_back(s.name + "@" + std::to_string(s.position) + "x" + std::to_string(s.shape[0]));
  const std::vector<std::string> want = {
      "blk.1.resid_pre@1x1", "blk.1.resid_pre@3x2", "blk.1.attn.probs@1x1", "blk.1.attn.probs@3x2",
      "blk.1.ffn.act@1x1",   "blk.1.ffn.act@3x2",   "blk.3.resid_pre@1x1",  "blk.3.resid_pre@3x2",
      "blk.3.attn.probs@1x1", "blk.3.attn.probs@3x2", "blk.3.ffn.act@1x1",  "blk.3.ffn.act@3x2",
      "logits@1x1",          "logits@3x2"};
  EXPECT_EQ(got, want);
  for (const Seen& s : seen) {
    EXPECT_EQ(s.request, 5);
    if (s.name.ends_with("attn.probs")) EXPECT_EQ(s.shape, (std::vector<int64_t>{s.shape[0], c.n_heads, 6}));
    if (s.name.ends_with("ffn.act")) EXPECT_EQ(s.shape, (std::vector<int64_t>{s.shape[0], c.hidden_dim}));
    if (s.name == "logits") {  // what the observer sees is what the forward pass returns
      ASSERT_EQ(s.shape[1], c.vocab_size);
      for (size_t i = 0; i < s.data.size(); ++i) EXPECT_EQ(s.data[i], logits[s.position * c.vocab_size + i]);
    }
  }
}

TEST(Observer, EveryNameOfALlamaLayerInTheOrderOfTheForwardPass) {
  std::vector<Seen> seen;
  chorus::ObserverSelection all;
  for (std::string_view n : chorus::kActivationNames) all.names.emplace_back(n);
  all.layers = {2};
  auto o = recorder(seen, all);
  forward_once(kPrompt, o.get());
  std::vector<std::string> got;
  for (const Seen& s : seen) got.push_back(s.name);
  const std::vector<std::string> want = {
      "embed", "blk.2.resid_pre", "blk.2.attn_norm", "blk.2.attn.q", "blk.2.attn.k", "blk.2.attn.v",
      "blk.2.attn.q_rot", "blk.2.attn.k_rot", "blk.2.attn.scores", "blk.2.attn.probs", "blk.2.attn.out",
      "blk.2.resid_mid", "blk.2.ffn_norm", "blk.2.ffn.gate", "blk.2.ffn.up", "blk.2.ffn.act", "blk.2.ffn.out",
      "blk.2.resid_post", "final_norm", "logits"};  // llama has no post-attention or post-FFN norm
  EXPECT_EQ(got, want);
  // The residual stream: resid_mid = resid_pre + attn.out, resid_post = resid_mid + ffn.out.
  auto data = [&](const std::string& name) { return seen[std::find(got.begin(), got.end(), name) - got.begin()].data; };
  const auto pre = data("blk.2.resid_pre"), out = data("blk.2.attn.out"), mid = data("blk.2.resid_mid");
  const auto ffn = data("blk.2.ffn.out"), post = data("blk.2.resid_post");
  for (size_t i = 0; i < pre.size(); ++i) {
    EXPECT_FLOAT_EQ(mid[i], pre[i] + out[i]);
    EXPECT_FLOAT_EQ(post[i], mid[i] + ffn[i]);
  }
}

TEST(Observer, AttentionProbsOfAHeadSumToOneOverTheVisiblePositions) {
  std::vector<Seen> seen;
  auto o = recorder(seen, {{"attn.scores", "attn.probs"}, {}, {}});
  forward_once(kPrompt, o.get());
  const auto& c = chorus::test::stories_model().file.config;
  ASSERT_EQ(seen.size(), 2u * c.n_layers);
  for (size_t i = 0; i < seen.size(); i += 2) {
    const Seen &scores = seen[i], &probs = seen[i + 1];
    ASSERT_EQ(probs.name, "blk." + std::to_string(i / 2) + ".attn.probs");
    const int64_t rows = probs.shape[0], heads = probs.shape[1], keys = probs.shape[2];
    ASSERT_EQ(rows, 6);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t h = 0; h < heads; ++h) {
        const float* p = &probs.data[(r * heads + h) * keys];
        const float* s = &scores.data[(r * heads + h) * keys];
        double sum = 0.0;
        for (int64_t k = 0; k <= r; ++k) sum += p[k];
        EXPECT_NEAR(sum, 1.0, 1e-5) << probs.name << " row " << r << " head " << h;
        for (int64_t k = r + 1; k < keys; ++k) {  // causal: a query does not see later keys
          EXPECT_EQ(p[k], 0.0f);
          EXPECT_TRUE(std::isinf(s[k]) && s[k] < 0);
        }
        // probs = softmax(scores) over the visible keys
        if (r > 0) EXPECT_NEAR(std::log(p[0] / p[r]), s[0] - s[r], 1e-4);
      }
    }
  }
}

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

// Two requests in one continuous batch, the same prompt; only the second is observed.
TEST(Observer, SeesOnlyItsOwnRequestAndChangesNothing) {
  LoadedModel& m = chorus::test::stories_model();
  std::vector<Seen> seen;
  auto o = recorder(seen, {{"resid_post", "logits"}, {4}, {}});
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  const RequestId plain = e.submit({kPrompt, 12, greedy(), {}});
  Request observed{kPrompt, 12, greedy(), {}};
  observed.observer = o;
  const RequestId watched = e.submit(std::move(observed));
  e.run_until_idle(m.weights);

  Engine alone(m.file.config, *m.tokenizer, EngineOptions{});
  const RequestId solo = alone.submit({kPrompt, 12, greedy(), {}});
  alone.run_until_idle(m.weights);
  EXPECT_EQ(e.result(plain).tokens, alone.result(solo).tokens);
  EXPECT_EQ(e.result(watched).tokens, alone.result(solo).tokens);
  EXPECT_EQ(e.result(watched).reused_prompt_tokens, 0);  // an observed prompt is computed, not shared

  // The whole prompt at prefill, then one row per decode step; the last token is never fed back.
  ASSERT_EQ(seen.size(), 2u * 12);
  for (const Seen& s : seen) EXPECT_EQ(s.request, watched);
  EXPECT_EQ(seen[0].name, "blk.4.resid_post");
  EXPECT_EQ(seen[0].shape[0], 6);
  EXPECT_EQ(seen[1].name, "logits");
  EXPECT_EQ(seen[1].position, 5);  // prefill computes the last prompt row's logits only
  for (size_t i = 2; i < seen.size(); ++i) EXPECT_EQ(seen[i].position, static_cast<int32_t>(6 + (i - 2) / 2));
  // Each decode step's logits pick the next token greedily.
  const auto& tokens = e.result(watched).tokens;
  for (size_t i = 1; i < seen.size(); i += 2) EXPECT_EQ(argmax(seen[i].data), tokens[i / 2]);
}

TEST(Observer, ReturningFalseCancelsOnlyItsRequest) {
  LoadedModel& m = chorus::test::stories_model();
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  auto o = std::make_shared<Observer>();
  o->select.names = {"logits"};
  int calls = 0;
  o->on_activation = [&](const ActivationView&) { return ++calls < 3; };
  Request observed{kPrompt, 20, greedy(), {}};
  observed.observer = o;
  const RequestId watched = e.submit(std::move(observed));
  const RequestId plain = e.submit({kPrompt, 20, greedy(), {}});
  e.run_until_idle(m.weights);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(e.result(watched).state, RequestState::kCancelled);
  EXPECT_EQ(e.result(watched).tokens.size(), 2u);  // the third step's callback cancelled it before sampling
  EXPECT_EQ(e.result(plain).state, RequestState::kFinished);
  EXPECT_EQ(e.result(plain).tokens.size(), 20u);
}

TEST(Observer, ActivationCacheKeepsACopyOfEachNameItSaw) {
  chorus::ActivationCache cache;
  const auto o = cache.observer({{"resid_post", "logits"}, {0}, {}});
  const std::vector<float> logits = forward_once(kPrompt, o.get());
  ASSERT_EQ(cache.entries.size(), 2u);
  const auto& seen = cache.entries.at("logits");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request, 5);
  EXPECT_EQ(seen[0].shape, (std::vector<int64_t>{6, chorus::test::stories_model().file.config.vocab_size}));
  EXPECT_EQ(seen[0].data, logits);
  EXPECT_EQ(cache.entries.at("blk.0.resid_post").front().layer, 0);
}

TEST(Observer, UnknownNameOrLayerIsRefusedAtSubmit) {
  LoadedModel& m = chorus::test::stories_model();
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  Request r{kPrompt, 4, greedy(), {}};
  r.observer = std::make_shared<Observer>(Observer{{{"attn.pattern"}, {}, {}}, {}});
  EXPECT_THROW(e.submit(r), chorus::Error);
  r.observer = std::make_shared<Observer>(Observer{{{"attn.probs"}, {m.file.config.n_layers}, {}}, {}});
  EXPECT_THROW(e.submit(r), chorus::Error);
}

}  // namespace
