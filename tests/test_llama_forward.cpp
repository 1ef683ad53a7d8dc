// The Llama forward pass against published reference logits and greedy ids.
#include <cmath>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "models/llama_model.h"
#include "models/model_file.h"
#include "runtime/contiguous_kv_cache.h"
#include "runtime/sampler.h"
#include "tests/stories_reference.h"
#include "tests/test_paths.h"

namespace {

using chorus::models::LlamaModel;
using chorus::models::SequenceChunk;

void expect_close(const std::vector<float>& got, const float* want_begin, size_t n, double rel) {
  ASSERT_EQ(got.size(), n);
  for (size_t i = 0; i < n; ++i) {
    const double w = want_begin[i];
    EXPECT_NEAR(got[i], w, rel * std::max(1.0, std::fabs(w))) << "logit " << i;
  }
}

// The model file named by the test parameter, its weights and a forward pass.
class Stories260K : public ::testing::TestWithParam<const char*> {
 protected:
  Stories260K()
      : file(chorus::models::open_model_file(chorus::test::fixture_dir() + "/models/stories260K/" + GetParam())),
        weights(chorus::models::bind_llama_weights(file)),
        model(file.config) {}
  chorus::runtime::ContiguousKvCache cache(int32_t positions) const {
    return {file.config.n_layers, file.config.kv_dim(), positions};
  }

  chorus::test::StoriesReference ref = chorus::test::load_stories_reference();
  chorus::models::ModelFile file;
  chorus::models::LlamaWeights weights;
  LlamaModel model;
};

TEST_P(Stories260K, LogitsOfFirstFourPositionsMatchReference) {
  auto kv = cache(16);
  std::vector<float> logits;
  for (int pos = 0; pos < 4; ++pos) {
    SequenceChunk step{0, {&ref.ids[pos], 1}, pos};
    model.forward(weights, {&step, 1}, kv, logits);
    expect_close(logits, ref.logits_first4[pos].data(), ref.logits_first4[pos].size(), 1e-4);
  }
}

TEST_P(Stories260K, PrefillWithAllLogitsEqualsTokenByToken) {
  auto kv = cache(16);
  std::vector<float> logits;
  SequenceChunk prefill{0, {ref.ids.data(), 4}, 0, /*all_logits=*/true};
  model.forward(weights, {&prefill, 1}, kv, logits);
  const size_t V = file.config.vocab_size;
  for (int pos = 0; pos < 4; ++pos) {
    std::vector<float> row(logits.begin() + pos * V, logits.begin() + (pos + 1) * V);
    expect_close(row, ref.logits_first4[pos].data(), V, 1e-4);
  }
}

TEST_P(Stories260K, Greedy200TokensFromBosMatchReference) {
  auto kv = cache(256);
  std::vector<float> logits;
  std::vector<int32_t> ids = {1};
  for (int pos = 0; pos < 200; ++pos) {
    SequenceChunk step{0, {&ids.back(), 1}, pos};
    model.forward(weights, {&step, 1}, kv, logits);
    ids.push_back(chorus::runtime::argmax(logits));
  }
  EXPECT_EQ(ids, ref.ids);
}

INSTANTIATE_TEST_SUITE_P(BinAndGguf, Stories260K, ::testing::Values("stories260K.bin", "stories260K.gguf"));

TEST(LlamaForward, BatchOfTwoSequencesEqualsEachAlone) {
  auto file = chorus::models::open_model_file(chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin");
  const auto weights = chorus::models::bind_llama_weights(file);
  LlamaModel model(file.config);
  const std::vector<int32_t> a = {1, 403, 407, 261, 378}, b = {1, 70, 80};
  const size_t V = file.config.vocab_size;
  std::vector<float> alone_a, alone_b, both;
  {
    chorus::runtime::ContiguousKvCache kv(file.config.n_layers, file.config.kv_dim(), 16);
    SequenceChunk c{0, a, 0};
    model.forward(weights, {&c, 1}, kv, alone_a);
    SequenceChunk d{1, b, 0};
    model.forward(weights, {&d, 1}, kv, alone_b);
  }
  chorus::runtime::ContiguousKvCache kv(file.config.n_layers, file.config.kv_dim(), 16);
  SequenceChunk batch[2] = {{7, a, 0}, {3, b, 0}};
  model.forward(weights, batch, kv, both);
  ASSERT_EQ(both.size(), 2 * V);
  for (size_t i = 0; i < V; ++i) {
    EXPECT_NEAR(both[i], alone_a[i], 1e-5);
    EXPECT_NEAR(both[V + i], alone_b[i], 1e-5);
  }
}

TEST(LlamaForward, RejectsTokenOutsideVocabulary) {
  auto file = chorus::models::open_model_file(chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin");
  const auto weights = chorus::models::bind_llama_weights(file);
  LlamaModel model(file.config);
  chorus::runtime::ContiguousKvCache kv(file.config.n_layers, file.config.kv_dim(), 16);
  std::vector<float> logits;
  const int32_t bad = 512;
  SequenceChunk c{0, {&bad, 1}, 0};
  EXPECT_THROW(model.forward(weights, {&c, 1}, kv, logits), chorus::Error);
}

}  // namespace
