// The continuous-batching engine on the real qwen2 and gemma3 experts (fetched by
// scripts/setup.sh; skipped when absent): sequences batched together, with a shared
// prompt prefix, generate what each generates alone.
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "models/chat_prompt.h"
#include "runtime/engine.h"
#include "runtime/loaded_model.h"
#include "tests/test_paths.h"

namespace {

using namespace chorus::runtime;

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

void run(LoadedModel& m, const std::vector<std::vector<int32_t>>& prompts, int32_t max_tokens,
                         int32_t max_running, std::vector<std::vector<int32_t>>* outputs) {
  EngineOptions o;
  o.max_running = max_running;
  o.max_step_tokens = 48;  // prefill chunks share steps with decodes
  o.max_context = 128;
  Engine e(m.file.config, *m.tokenizer, o);
  std::vector<RequestId> ids;
  for (const auto& p : prompts) ids.push_back(e.submit({p, max_tokens, greedy(), {}}));
  e.run_until_idle(m.weights);
  for (RequestId id : ids) {
    EXPECT_EQ(e.result(id).state, RequestState::kFinished);
    outputs->push_back(e.result(id).tokens);
  }
  EXPECT_EQ(e.kv().free_blocks(), e.kv().total_blocks()) << "every block returned";
}

void batched_equals_alone(const std::string& file, const std::vector<std::string>& texts) {
  const std::string path = chorus::test::model_dir() + "/" + file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched (run scripts/setup.sh)";
  LoadedModel m = load_model(path);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& t : texts) prompts.push_back(m.tokenizer->encode(t, m.add_bos));
  std::vector<std::vector<int32_t>> together, alone;
  run(m, prompts, 16, 8, &together);
  for (const auto& p : prompts) run(m, {p}, 16, 1, &alone);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(together[i], alone[i]) << texts[i];
}

// The first two share a 15-token prefix (the engine shares its blocks).
const std::vector<std::string> kTexts = {"The following Python function computes the factorial of a number n:\ndef",
                                         "The following Python function computes the factorial of a number n:\nimport",
                                         "The capital of France is", "Once upon a time, in a small village,"};

TEST(EngineFamilies, Qwen2BatchedEqualsAlone) { batched_equals_alone("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", kTexts); }
TEST(EngineFamilies, Gemma3BatchedEqualsAlone) { batched_equals_alone("gemma-3-270m-q4_k_m.gguf", kTexts); }

}  // namespace

// A chat answer ends with the end-of-turn token after a few tokens; with
// ignore_eos (what `chorus bench` sets) the request runs to max_tokens and no
// end-of-generation token is chosen.
TEST(EngineFamilies, IgnoreEosRunsToMaxTokens) {
  const std::string path = chorus::test::model_dir() + "/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched (run scripts/setup.sh)";
  LoadedModel m = load_model(path);
  const std::vector<int32_t> prompt =
      chorus::models::encode_chat(*m.tokenizer, m.chat, {{"user", "Say hello."}}, m.add_bos);
  constexpr int32_t kMax = 40;
  auto generate = [&](bool ignore_eos) {
    EngineOptions o;
    o.max_context = 128;
    Engine e(m.file.config, *m.tokenizer, o);
    Request r{prompt, kMax, greedy(), {}};
    r.ignore_eos = ignore_eos;
    const RequestId id = e.submit(std::move(r));
    e.run_until_idle(m.weights);
    return e.result(id);
  };
  const RequestResult stopped = generate(false);
  ASSERT_EQ(stopped.stop_reason, "eos");
  ASSERT_LT(stopped.tokens.size(), static_cast<size_t>(kMax));
  const RequestResult full = generate(true);
  EXPECT_EQ(full.stop_reason, "max_tokens");
  ASSERT_EQ(full.tokens.size(), static_cast<size_t>(kMax));
  for (int32_t t : full.tokens) EXPECT_FALSE(m.tokenizer->is_end_of_generation(t)) << t;
  // Up to the end of turn, the same text.
  EXPECT_TRUE(std::equal(stopped.tokens.begin(), stopped.tokens.end(), full.tokens.begin()));
}
