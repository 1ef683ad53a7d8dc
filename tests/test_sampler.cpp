#include "runtime/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "chorus/error.h"

using chorus::runtime::Sampler;
using chorus::runtime::SamplingParams;

namespace {

std::vector<float> logits_of(std::initializer_list<float> l) { return std::vector<float>(l); }

SamplingParams plain(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

TEST(Sampler, GreedyIsArgmax) {
  Sampler s(plain(0.0f));
  auto l = logits_of({0.1f, 2.0f, -1.0f, 1.9f});
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  auto run = [](uint64_t seed) {
    SamplingParams p = plain(1.0f);
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> l(16, 0.0f);
      out.push_back(s.sample(l, {}));
    }
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Sampler, FrequenciesFollowSoftmaxAtTemperatureOne) {
  Sampler s(plain(1.0f));
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto l = logits_of({0.0f, std::log(3.0f)});  // probabilities 1/4 and 3/4
    ++counts[s.sample(l, {})];
  }
  EXPECT_NEAR(counts[1] / double(n), 0.75, 0.02);
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  SamplingParams k1 = plain(2.0f);
  k1.top_k = 1;
  SamplingParams p_small = plain(2.0f);
  p_small.top_p = 1e-6f;
  Sampler a(k1), b(p_small);
  for (int i = 0; i < 50; ++i) {
    auto l1 = logits_of({0.5f, 0.4f, 0.6f, 0.1f});
    auto l2 = l1;
    EXPECT_EQ(a.sample(l1, {}), 2);
    EXPECT_EQ(b.sample(l2, {}), 2);
  }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplingParams p = plain(1.0f);
  p.min_p = 0.5f;  // keeps tokens with at least half the best probability
  Sampler s(p);
  for (int i = 0; i < 200; ++i) {
    auto l = logits_of({0.0f, std::log(0.6f), std::log(0.1f)});  // relative probs 1, 0.6, 0.1
    EXPECT_NE(s.sample(l, {}), 2);
  }
}

TEST(Sampler, RepetitionPenaltyDemotesRecentTokens) {
  SamplingParams p = plain(0.0f);
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  auto l = logits_of({1.0f, 1.5f, 0.9f});
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(s.sample(l, history), 0);  // 1.5 / 2 = 0.75 < 1.0
  EXPECT_FLOAT_EQ(l[1], 0.75f);
}

TEST(Sampler, RejectsOutOfRangeParameters) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler{p}, chorus::Error);
  p = SamplingParams{};
  p.temperature = -1.0f;
  EXPECT_THROW(Sampler{p}, chorus::Error);
  p = SamplingParams{};
  p.min_p = 1.0f;
  EXPECT_THROW(Sampler{p}, chorus::Error);
}

}  // namespace
