// Logprobs on stories260K: the reported distribution is the softmax of the
// published reference logits, before sampling penalties and temperature.
#include <cmath>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "runtime/engine.h"
#include "runtime/generator.h"
#include "runtime/loaded_model.h"
#include "tests/stories_reference.h"
#include "tests/test_paths.h"

namespace {

using namespace chorus::runtime;

// Entry i was sampled from the logits after position i: the reference's logits_first4[i].
void expect_reference_distribution(const std::vector<TokenLogprobs>& got, int32_t top_n, bool greedy) {
  const auto ref = chorus::test::load_stories_reference();
  ASSERT_GE(got.size(), greedy ? 4u : 1u);
  for (size_t i = 0; i < (greedy ? 4u : 1u); ++i) {
    const std::vector<double> p = chorus::test::softmax_of(ref.logits_first4[i]);
    if (greedy) EXPECT_EQ(got[i].token, ref.ids[i + 1]);
    EXPECT_NEAR(std::exp(got[i].logprob), p[got[i].token], 1e-4) << "token " << i;
    ASSERT_EQ(got[i].top.size(), static_cast<size_t>(top_n));
    for (int32_t k = 0; k < top_n; ++k) {
      const TokenLogprob& t = got[i].top[k];
      EXPECT_NEAR(std::exp(t.logprob), p[t.token], 1e-4) << "token " << i << " alternative " << k;
      if (k > 0) EXPECT_LE(t.logprob, got[i].top[k - 1].logprob);
    }
    int32_t better = 0;  // the top list holds the most likely tokens: none outside it beats its last
    for (double x : p) better += x > std::exp(got[i].top.back().logprob) + 1e-6;
    EXPECT_LT(better, top_n);
  }
}

TEST(Logprobs, EngineGreedyMatchesReferenceSoftmax) {
  LoadedModel& m = chorus::test::stories_model();
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  Request r{{1}, 4, {}, {}};
  r.sampling.temperature = 0.0f;
  r.logprobs = 5;
  const RequestId id = e.submit(std::move(r));
  e.run_until_idle(m.weights);
  const RequestResult& res = e.result(id);
  ASSERT_EQ(res.tokens.size(), 4u);
  ASSERT_EQ(res.logprobs.size(), res.tokens.size());
  expect_reference_distribution(res.logprobs, 5, true);
}

TEST(Logprobs, GenerateReportsTheDistributionBeforePenaltiesAndTemperature) {
  SamplingParams hot;
  hot.temperature = 1.7f;
  hot.repetition_penalty = 1.8f;
  hot.top_k = 3;
  hot.seed = 7;
  const GenerationResult res = generate(chorus::test::stories_model(), {1}, 3, hot, {}, nullptr, 8);
  ASSERT_EQ(res.logprobs.size(), res.tokens.size());
  for (size_t i = 0; i < res.tokens.size(); ++i) EXPECT_EQ(res.logprobs[i].token, res.tokens[i]);
  expect_reference_distribution(res.logprobs, 8, false);
}

TEST(Logprobs, OffByDefaultAndRangeChecked) {
  LoadedModel& m = chorus::test::stories_model();
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_TRUE(generate(m, {1}, 3, greedy).logprobs.empty());
  Engine e(m.file.config, *m.tokenizer, EngineOptions{});
  Request r{{1}, 4, greedy, {}};
  r.logprobs = -1;
  EXPECT_THROW(e.submit(r), chorus::Error);
  r.logprobs = m.file.config.vocab_size + 1;
  EXPECT_THROW(e.submit(r), chorus::Error);
}

}  // namespace
