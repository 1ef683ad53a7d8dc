// The continuous-batching engine on the real stories260K model: batching,
// forking, prefix sharing and preemption never change what a sequence generates.
#include "runtime/engine.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "runtime/contiguous_kv_cache.h"
#include "runtime/loaded_model.h"
#include "tests/stories_reference.h"
#include "tests/test_paths.h"

namespace {

using namespace chorus::runtime;

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

std::vector<int32_t> prompt_of(const std::string& text) { return chorus::test::stories_model().tokenizer->encode(text, true); }

// Runs each prompt alone, one engine per prompt.
std::vector<int32_t> alone(const std::vector<int32_t>& prompt, int32_t max_tokens) {
  LoadedModel& m = chorus::test::stories_model();
  EngineOptions o;
  o.max_running = 1;
  Engine e(m.file.config, *m.tokenizer, o);
  const RequestId id = e.submit({prompt, max_tokens, greedy(), {}});
  e.run_until_idle(m.weights);
  return e.result(id).tokens;
}

const std::vector<std::string> kPrompts = {
    "Once upon a time", "Lily saw a big red ball in the park and", "The cat", "Tom and his dog went to the beach. They",
    "One day, a little bird"};

TEST(Engine, BatchedSequencesGenerateWhatTheyGenerateAlone) {
  LoadedModel& m = chorus::test::stories_model();
  EngineOptions o;
  o.max_step_tokens = 24;  // forces prefill chunks to share steps with decodes
  Engine e(m.file.config, *m.tokenizer, o);
  std::vector<RequestId> ids;
  std::vector<int32_t> lengths = {40, 25, 60, 33, 50};
  for (size_t i = 0; i < kPrompts.size(); ++i) ids.push_back(e.submit({prompt_of(kPrompts[i]), lengths[i], greedy(), {}}));
  e.run_until_idle(m.weights);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(e.result(ids[i]).state, RequestState::kFinished);
    EXPECT_EQ(e.result(ids[i]).tokens, alone(prompt_of(kPrompts[i]), lengths[i])) << kPrompts[i];
  }
  EXPECT_EQ(e.kv().free_blocks(), e.kv().total_blocks());
  e.kv().check_invariants();
}

TEST(Engine, BatchedLogitsOverPagedCacheEqualContiguous) {
  LoadedModel& m = chorus::test::stories_model();
  const auto& c = m.file.config;
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& p : kPrompts) prompts.push_back(prompt_of(p));
  PagedKvCache paged({c.n_layers, c.kv_dim(), 16, 64});
  std::vector<chorus::models::SequenceChunk> batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    paged.add_sequence(static_cast<int32_t>(i));
    batch.push_back({static_cast<int32_t>(i), prompts[i], 0, true});
  }
  chorus::models::LlamaModel model(c);
  std::vector<float> together;
  model.forward(m.weights, batch, paged, together);
  size_t row = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ContiguousKvCache kv(c.n_layers, c.kv_dim(), 64);
    std::vector<float> solo;
    chorus::models::SequenceChunk chunk{0, prompts[i], 0, true};
    model.forward(m.weights, {&chunk, 1}, kv, solo);
    // Bit for bit: each token's sums run in one order whatever the batch (the batch
    // went through sgemm once, a lone short prompt through the row kernels: 1.1e-5 apart on AVX-512).
    for (size_t j = 0; j < solo.size(); ++j) ASSERT_EQ(together[row * c.vocab_size + j], solo[j]) << "logit " << j;
    row += prompts[i].size();
  }
}

TEST(Engine, ForkedSiblingEqualsSamePromptFromScratch) {
  LoadedModel& m = chorus::test::stories_model();
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  const auto prompt = prompt_of("Once upon a time there was a little girl named Lily. She");
  const RequestId parent = e.submit({prompt, 30, greedy(), {}});
  for (int i = 0; i < 6; ++i) e.step(m.weights);  // prefill + 5 decoded tokens
  const auto so_far = e.result(parent).tokens;
  ASSERT_EQ(so_far.size(), 6u);
  const RequestId child = e.fork(parent, {{}, 20, greedy(), {}});
  e.run_until_idle(m.weights);
  std::vector<int32_t> scratch_prompt = prompt;
  scratch_prompt.insert(scratch_prompt.end(), so_far.begin(), so_far.end());
  EXPECT_EQ(e.result(child).tokens, alone(scratch_prompt, 20));
  EXPECT_EQ(e.kv().free_blocks(), e.kv().total_blocks());
}

TEST(Engine, SiblingsWithASharedPrefixPayItsPrefillOnce) {
  LoadedModel& m = chorus::test::stories_model();
  std::string stem = "Once upon a time, in a small town, there lived a kind old man who loved to grow flowers. Every day he";
  const std::vector<std::string> tails = {" walked", " sang to the", " gave a flower to", " watered"};
  const int32_t shared = static_cast<int32_t>(prompt_of(stem).size());
  ASSERT_GE(shared, 32);
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  std::vector<RequestId> ids;
  for (const auto& t : tails) ids.push_back(e.submit({prompt_of(stem + t), 20, greedy(), {}}));
  e.run_until_idle(m.weights);
  const int32_t shared_blocks_positions = (shared / 16) * 16;
  EXPECT_GE(e.stats().reused_tokens, 3 * shared_blocks_positions - 16) << "siblings must attach the shared blocks";
  for (size_t i = 0; i < tails.size(); ++i) EXPECT_EQ(e.result(ids[i]).tokens, alone(prompt_of(stem + tails[i]), 20));
}

TEST(Engine, SiblingsShareAPrefixShorterThanABlock) {
  LoadedModel& m = chorus::test::stories_model();
  const std::vector<std::string> prompts = {"Once upon a time, a girl", "Once upon a time, a boy", "Once upon a time, the sun",
                                            "Once upon a time, Tom"};
  std::vector<std::vector<int32_t>> tokens;
  for (const auto& p : prompts) tokens.push_back(prompt_of(p));
  // Each sibling takes from the leader every position both prompts hold (not its own last one).
  int32_t expected = 0;
  for (size_t i = 1; i < tokens.size(); ++i) {
    int32_t common = 0;
    while (common + 1 < static_cast<int32_t>(tokens[i].size()) && tokens[i][common] == tokens[0][common]) ++common;
    expected += common;
  }
  ASSERT_GE(expected, 3 * 4);
  ASSERT_LT(tokens[0].size(), 16u) << "the point is a prefix shorter than one block";
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  std::vector<RequestId> ids;
  for (const auto& t : tokens) ids.push_back(e.submit({t, 20, greedy(), {}}));
  e.run_until_idle(m.weights);
  EXPECT_EQ(e.stats().reused_tokens, expected);
  for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(e.result(ids[i]).tokens, alone(tokens[i], 20)) << prompts[i];
}

TEST(Engine, PreemptionUnderATinyPoolKeepsOutputsExact) {
  LoadedModel& m = chorus::test::stories_model();
  EngineOptions o;
  o.kv_blocks = 9;  // three sequences of ~48 positions cannot all fit
  Engine e(m.file.config, *m.tokenizer, o);
  std::vector<RequestId> ids;
  for (size_t i = 0; i < 3; ++i) ids.push_back(e.submit({prompt_of(kPrompts[i]), 40, greedy(), {}}));
  e.run_until_idle(m.weights);
  EXPECT_GT(e.stats().preemptions, 0);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(e.result(ids[i]).tokens, alone(prompt_of(kPrompts[i]), 40));
  e.kv().check_invariants();
}

TEST(Engine, CancelLeavesAtOnceAndFreesBlocks) {
  LoadedModel& m = chorus::test::stories_model();
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  const RequestId a = e.submit({prompt_of("The cat"), 50, greedy(), {}});
  const RequestId b = e.submit({prompt_of("The dog"), 10, greedy(), {}});
  e.step(m.weights);
  e.cancel(a);
  EXPECT_EQ(e.result(a).state, RequestState::kCancelled);
  e.run_until_idle(m.weights);
  EXPECT_EQ(e.result(b).state, RequestState::kFinished);
  EXPECT_EQ(e.kv().free_blocks(), e.kv().total_blocks());
}

TEST(Engine, RequestThatCannotFitFailsCleanly) {
  LoadedModel& m = chorus::test::stories_model();
  EngineOptions o;
  o.kv_blocks = 1;
  Engine e(m.file.config, *m.tokenizer, o);
  const RequestId id = e.submit({prompt_of("Once upon a time there was a little girl named Lily"), 40, greedy(), {}});
  e.run_until_idle(m.weights);
  EXPECT_EQ(e.result(id).state, RequestState::kFailed);
  EXPECT_NE(e.result(id).stop_reason.find("KV pool too small"), std::string::npos);
}

}  // namespace
