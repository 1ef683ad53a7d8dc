// The public C++ API (chorus/model.h) on the real stories260K model: one
// Model served to many threads as one continuous batch, streaming, stop
// strings, cancellation, prompts against the context, and its errors.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

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

TEST(ApiModel, TwoModelsWithDifferentSettingsLiveInOneProcess) {
  Model exact = Model::open(stories(), {.activations = "f32"});
  Model fast = Model::open(stories(), {.kernel_path = "scalar", .activations = "int8"});
  EXPECT_EQ(exact.info().activations, "f32");
  EXPECT_EQ(fast.info().activations, "int8");
  EXPECT_EQ(fast.info().kernel_path, "scalar");
  std::string a, b;
  std::thread ta([&] { a = exact.generate("Once upon a time", greedy(20)).text; });
  std::thread tb([&] { b = fast.generate("Once upon a time", greedy(20)).text; });
  ta.join();
  tb.join();
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
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
