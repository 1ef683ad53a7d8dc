// The public C++ API (chorus/model.h) on the real stories260K model: one
// Model served to many threads as one continuous batch, streaming, stop
// strings, cancellation, prompts against the context, and its errors.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chorus/activation_cache.h"
#include "chorus/error.h"
#include "chorus/model.h"
#include "chorus/tokenizer.h"
#include "test_paths.h"

namespace {

using chorus::GenerateParams;
using chorus::Model;

std::string stories() { return chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin"; }

GenerateParams greedy(int32_t max_tokens) {
  GenerateParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

const std::vector<std::string> kPrompts = {"Once upon a time", "The cat", "Lily saw a", "One day, a big",
                                           "Tom had a red", "The sun was", "A little bird", "Sam and Mia"};

TEST(ApiModel, EightThreadsOnOneModelEachGetTheirSoloOutput) {
  std::vector<std::string> solo;
  {
    Model alone = Model::open(stories(), {.max_running = 1});
    for (const auto& p : kPrompts) solo.push_back(alone.generate(p, greedy(40)).text);
  }
  Model model = Model::open(stories(), {.max_running = 8});
  std::vector<std::string> together(kPrompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    threads.emplace_back([&, i] { together[i] = model.generate(kPrompts[i], greedy(40)).text; });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < kPrompts.size(); ++i) EXPECT_EQ(together[i], solo[i]) << kPrompts[i];
  // They ran as one batch: fewer forward passes than eight separate runs would take.
  const chorus::EngineLoad load = model.load();
  EXPECT_LT(load.steps, 8 * 40);
  EXPECT_EQ(load.running, 0);
  EXPECT_EQ(load.kv_blocks_used, 0);  // every sequence's blocks were freed
}

TEST(ApiModel, StreamingCallbackSeesEveryPieceOnTheCallingThread) {
  Model model = Model::open(stories());
  GenerateParams p = greedy(30);
  std::string streamed;
  std::vector<int32_t> ids;
  const auto caller = std::this_thread::get_id();
  bool same_thread = true;
  p.on_token = [&](const chorus::TokenEvent& e) {
    streamed += e.piece;
    ids.push_back(e.token);
    same_thread = same_thread && std::this_thread::get_id() == caller;
    return true;
  };
  const chorus::GenerateResult r = model.generate("Once upon a time", p);
  EXPECT_TRUE(same_thread);
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(ids, r.tokens);
  EXPECT_EQ(r.finish_reason, "max_tokens");
  EXPECT_EQ(r.tokens.size(), 30u);
}

TEST(ApiModel, CallbackReturningFalseStopsThatRequestOnly) {
  Model model = Model::open(stories());
  GenerateParams p = greedy(50);
  int seen = 0;
  p.on_token = [&](const chorus::TokenEvent&) { return ++seen < 5; };
  const chorus::GenerateResult r = model.generate("Once upon a time", p);
  EXPECT_EQ(seen, 5);
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(r.tokens.size(), 5u);
  // The engine is free again: a full request after it runs to its end.
  EXPECT_EQ(model.generate("Once upon a time", greedy(20)).tokens.size(), 20u);
  EXPECT_EQ(model.load().kv_blocks_used, 0);
}

TEST(ApiModel, CancelFlagStopsAGeneration) {
  Model model = Model::open(stories());
  std::atomic<bool> cancel{false};
  GenerateParams p = greedy(400);
  p.cancel = &cancel;
  int seen = 0;
  p.on_token = [&](const chorus::TokenEvent&) {
    if (++seen == 3) cancel = true;
    return true;
  };
  const chorus::GenerateResult r = model.generate("Once upon a time", p);
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_LT(r.tokens.size(), 400u);
}

// The story ends at EOS; with ignore_eos the same greedy text goes on to max_tokens.
TEST(ApiModel, IgnoreEosRunsToMaxTokens) {
  Model model = Model::open(stories());
  const chorus::GenerateResult ended = model.generate("Once upon a time", greedy(400));
  ASSERT_EQ(ended.finish_reason, "eos");
  GenerateParams p = greedy(static_cast<int32_t>(ended.tokens.size()) + 20);
  p.ignore_eos = true;
  const chorus::GenerateResult full = model.generate("Once upon a time", p);
  EXPECT_EQ(full.finish_reason, "max_tokens");
  ASSERT_EQ(full.tokens.size(), ended.tokens.size() + 20);
  EXPECT_TRUE(std::equal(ended.tokens.begin(), ended.tokens.end(), full.tokens.begin()));
}

TEST(ApiModel, StopStringEndsTheTextBeforeIt) {
  Model model = Model::open(stories());
  const std::string full = model.generate("Once upon a time", greedy(60)).text;
  // A stop string from the middle of the greedy answer: the answer ends right before it.
  const std::string stop = full.substr(full.size() / 2, 6);
  const size_t at = full.find(stop);
  GenerateParams p = greedy(60);
  p.stop = {stop, "never appears in a story"};
  std::string streamed;
  p.on_token = [&](const chorus::TokenEvent& e) {
    streamed += e.piece;
    return true;
  };
  const chorus::GenerateResult r = model.generate("Once upon a time", p);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, full.substr(0, at));
  EXPECT_EQ(streamed, r.text);  // nothing of the stop string was streamed
}

TEST(ApiModel, PromptLongerThanTheContextIsRefusedOrTruncated) {
  Model model = Model::open(stories());
  std::string long_prompt;
  for (int i = 0; i < 200; ++i) long_prompt += "Once upon a time ";
  try {
    model.prepare_prompt(long_prompt, greedy(4));
    FAIL() << "a prompt past the context was accepted";
  } catch (const chorus::Error& e) {
    EXPECT_EQ(e.code(), chorus::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("context holds 512 positions"), std::string::npos) << e.what();
  }
  GenerateParams p = greedy(4);
  p.truncate_prompt = true;
  const chorus::PreparedPrompt kept = model.prepare_prompt(long_prompt, p);
  EXPECT_GT(kept.dropped_tokens, 0);
  EXPECT_EQ(kept.tokens.size(), 508u);  // room for the 4 tokens asked for
  EXPECT_EQ(model.generate(long_prompt, p).dropped_prompt_tokens, kept.dropped_tokens);
}

TEST(ApiModel, BadOptionsAndParamsAreNamed) {
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const chorus::Error& e) {
      return std::make_pair(e.code(), std::string(e.what()));
    }
    return std::make_pair(chorus::ErrorCode::kInternal, std::string("no error"));
  };
  auto [c1, m1] = code_of([] { Model::open(stories(), {.activations = "int9"}); });
  EXPECT_EQ(c1, chorus::ErrorCode::kInvalidArgument);
  EXPECT_NE(m1.find("activations 'int9'"), std::string::npos) << m1;
  auto [c2, m2] = code_of([] { Model::open("/no/such/model.gguf"); });
  EXPECT_NE(c2, chorus::ErrorCode::kInternal) << m2;
  Model model = Model::open(stories());
  GenerateParams bad = greedy(4);
  bad.top_p = 2;
  auto [c3, m3] = code_of([&] { model.generate("Once", bad); });
  EXPECT_EQ(c3, chorus::ErrorCode::kInvalidArgument);
  EXPECT_NE(m3.find("top_p"), std::string::npos) << m3;
  GenerateParams grammar = greedy(4);
  grammar.grammar = "root ::= (";
  grammar.grammar_name = "mine.gbnf";
  auto [c4, m4] = code_of([&] { model.generate("Once", grammar); });
  EXPECT_EQ(c4, chorus::ErrorCode::kInvalidArgument);
  EXPECT_NE(m4.find("mine.gbnf:1:"), std::string::npos) << m4;
  auto [c5, m5] = code_of([&] { model.detokenize(std::vector<int32_t>{1, 100000}); });
  EXPECT_EQ(c5, chorus::ErrorCode::kInvalidArgument);
}

TEST(ApiModel, GrammarConstrainsTheOutput) {
  Model model = Model::open(stories());
  GenerateParams p = greedy(20);
  p.grammar = R"(root ::= ("yes" | "no") "!")";
  const chorus::GenerateResult r = model.generate("Once upon a time", p);
  EXPECT_TRUE(r.text == "yes!" || r.text == "no!") << r.text;
  EXPECT_EQ(r.finish_reason, "grammar");
}

// From BOS, the published logits of stories260K's first four positions: each
// generated token's log-probability and alternatives are their log-softmax.
TEST(ApiModel, LogprobsAreTheLogSoftmaxOfTheReferenceLogits) {
  std::ifstream in(chorus::test::fixture_dir() + "/models/stories260K/expected_greedy_ids_and_logits.json");
  ASSERT_TRUE(in) << "the stories260K reference is missing";
  const nlohmann::json ref = nlohmann::json::parse(in);
  Model model = Model::open(stories());
  GenerateParams p = greedy(4);
  p.logprobs = 5;
  std::vector<float> streamed;
  p.on_token = [&](const chorus::TokenEvent& e) {
    streamed.push_back(e.logprob);
    return e.top.size() == 5;
  };
  const chorus::GenerateResult r = model.generate("", p);
  ASSERT_EQ(r.logprobs.size(), 4u);
  EXPECT_EQ(streamed, r.logprobs);
  for (size_t k = 0; k < 4; ++k) {
    const std::vector<double> logits = ref["logits_first4"][k].get<std::vector<double>>();
    double max = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (double x : logits) sum += std::exp(x - max);
    auto logprob = [&](int32_t id) { return logits[id] - max - std::log(sum); };
    EXPECT_EQ(r.tokens[k], ref["ids"][k + 1].get<int32_t>());
    EXPECT_NEAR(r.logprobs[k], logprob(r.tokens[k]), 1e-4);
    std::vector<int32_t> order(logits.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    ASSERT_EQ(r.top_logprobs[k].size(), 5u);
    for (size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(r.top_logprobs[k][j].token, order[j]) << "position " << k;
      EXPECT_NEAR(r.top_logprobs[k][j].logprob, logprob(order[j]), 1e-4);
      EXPECT_EQ(r.top_logprobs[k][j].piece, model.token_piece(order[j]));
    }
  }
}

// An observer attached to one of two concurrent calls sees only that call's
// positions, every one of them once, and the other call's text is unchanged.
TEST(ApiModel, AnObserverSeesOnlyItsOwnRequestInABatch) {
  Model model = Model::open(stories(), {.max_running = 2});
  const std::string alone = model.generate("The cat", greedy(12)).text;
  chorus::ActivationCache cache;
  GenerateParams observed = greedy(12);
  observed.observer = cache.observer({.names = {"attn.probs", "logits"}, .layers = {1}});
  chorus::GenerateResult watched, other;
  std::thread a([&] { watched = model.generate("Once upon a time", observed); });
  std::thread b([&] { other = model.generate("The cat", greedy(12)); });
  a.join();
  b.join();
  EXPECT_EQ(other.text, alone);
  const auto& probs = cache.entries["blk.1.attn.probs"];
  ASSERT_FALSE(probs.empty());
  int32_t next = 0;
  for (const auto& e : probs) {
    EXPECT_EQ(e.request, probs.front().request);  // one request's rows only
    EXPECT_EQ(e.position, next);                  // every position once, in order
    next += static_cast<int32_t>(e.shape[0]);
  }
  // The prompt and every generated token but the last went through the model.
  EXPECT_EQ(next, watched.prompt_tokens + static_cast<int32_t>(watched.tokens.size()) - 1);
  EXPECT_TRUE(cache.entries.count("blk.0.attn.probs") == 0);  // layer 0 was not asked for
  EXPECT_FALSE(cache.entries["logits"].empty());
}

TEST(ApiModel, TokenizeDetokenizeAndInfo) {
  Model model = Model::open(stories());
  const std::vector<int32_t> ids = model.tokenize("Once upon a time");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), model.info().bos);
  EXPECT_EQ(model.detokenize(std::vector<int32_t>(ids.begin() + 1, ids.end())), "Once upon a time");
  const chorus::ModelInfo info = model.info();
  EXPECT_EQ(info.architecture, "llama");
  EXPECT_EQ(info.vocab_size, 512);
  EXPECT_EQ(info.context_length, 512);
  EXPECT_EQ(info.n_layers, 5);
  EXPECT_EQ(info.format, "llama2c");
}

// Settings live on the models: run side by side, f32 and int8 activations on the
// same q8_0 weights give slightly different distributions, the scalar and the
// vector path the same one.
TEST(ApiModel, TwoModelsWithDifferentSettingsLiveInOneProcess) {
  Model exact = Model::open(stories(), {.activations = "f32", .dtype = "q8_0"});
  Model scalar = Model::open(stories(), {.kernel_path = "scalar", .activations = "f32", .dtype = "q8_0"});
  Model fast = Model::open(stories(), {.activations = "int8", .dtype = "q8_0"});
  EXPECT_EQ(exact.info().activations, "f32");
  EXPECT_EQ(fast.info().activations, "int8");
  EXPECT_EQ(scalar.info().kernel_path, "scalar");
  GenerateParams p = greedy(20);
  p.logprobs = 1;
  chorus::GenerateResult a, b, c;
  std::thread ta([&] { a = exact.generate("Once upon a time", p); });
  std::thread tb([&] { b = fast.generate("Once upon a time", p); });
  std::thread tc([&] { c = scalar.generate("Once upon a time", p); });
  ta.join();
  tb.join();
  tc.join();
  ASSERT_EQ(a.logprobs.size(), 20u);
  ASSERT_FALSE(b.logprobs.empty());
  ASSERT_EQ(c.tokens, a.tokens);
  double int8_gap = 0, path_gap = 0;
  for (size_t i = 0; i < a.logprobs.size(); ++i) path_gap = std::max<double>(path_gap, std::abs(a.logprobs[i] - c.logprobs[i]));
  int8_gap = std::abs(a.logprobs[0] - b.logprobs[0]);
  EXPECT_LT(path_gap, 1e-3);
  EXPECT_GT(int8_gap, 0.0) << "int8 activations gave the f32 distribution: the setting did not reach the kernels";
  EXPECT_LT(int8_gap, 0.1);
}

TEST(ApiTokenizer, TheVocabularyAloneEncodesAsTheModelDoes) {
  Model model = Model::open(stories());
  const chorus::Tokenizer tok = chorus::Tokenizer::open(stories());
  EXPECT_EQ(tok.encode("Once upon a time, a cat"), model.tokenize("Once upon a time, a cat"));
  EXPECT_EQ(tok.vocab_size(), 512);
  EXPECT_EQ(tok.bos(), model.info().bos);
  const std::vector<int32_t> bad = {3, 512};
  EXPECT_THROW(tok.decode(bad), chorus::Error);
  EXPECT_THROW(chorus::Tokenizer::open("/no/such/vocab.gguf"), chorus::Error);
}

TEST(ApiDescribe, AModelFileAsJson) {
  const std::string j = chorus::describe_model_file(stories(), {.dtype = "q8_0"});
  EXPECT_NE(j.find("\"architecture\": \"llama\""), std::string::npos) << j.substr(0, 400);
  EXPECT_NE(j.find("\"loaded_type\""), std::string::npos);
  EXPECT_NE(j.find("\"n_layers\": 5"), std::string::npos);
  EXPECT_THROW(chorus::describe_model_file(stories(), {.dtype = "q9"}), chorus::Error);
}

}  // namespace
