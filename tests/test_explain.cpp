// runtime::explain on stories260K: its next-token probabilities are the softmax
// of the published reference logits, its attention rows are distributions, and
// the logit lens of the last layer is the model's own output.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "runtime/contiguous_kv_cache.h"
#include "runtime/explain.h"
#include "runtime/loaded_model.h"
#include "tests/stories_reference.h"
#include "tests/test_paths.h"

namespace {

using namespace chorus::runtime;

TEST(Explain, NextTokenProbabilitiesMatchReferenceSoftmax) {
  const auto ref = chorus::test::load_stories_reference();
  const std::vector<int32_t> prompt(ref.ids.begin(), ref.ids.begin() + 4);
  ExplainOptions o;
  o.top_k = 10;
  const Explanation e = explain(chorus::test::stories_model(), prompt, o);
  ASSERT_EQ(e.next.size(), 4u);
  for (size_t p = 0; p < 4; ++p) {
    const std::vector<double> want = chorus::test::softmax_of(ref.logits_first4[p]);
    ASSERT_EQ(e.next[p].size(), 10u);
    EXPECT_EQ(e.next[p][0].token, ref.ids[p + 1]);  // greedy: the reference's next id is the most likely
    for (const TokenLogprob& t : e.next[p]) EXPECT_NEAR(std::exp(t.logprob), want[t.token], 1e-4) << "position " << p;
  }
}

TEST(Explain, LayersAttentionAndLogitLens) {
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432, 383};
  const auto& c = chorus::test::stories_model().file.config;
  ExplainOptions o;
  o.layers = {c.n_layers - 1, 0};
  o.top_positions = 2;
  const Explanation e = explain(chorus::test::stories_model(), prompt, o);
  ASSERT_EQ(e.layers.size(), 2u);
  EXPECT_EQ(e.layers[0].layer, 0);
  const int64_t n = static_cast<int64_t>(prompt.size());
  for (const ExplainedLayer& L : e.layers) {
    ASSERT_EQ(L.probs.size(), static_cast<size_t>(c.n_heads * n * n));
    ASSERT_EQ(L.resid_norm.size(), prompt.size());
    for (int64_t h = 0; h < c.n_heads; ++h) {
      for (int64_t q = 0; q < n; ++q) {
        double sum = 0.0;
        for (int64_t k = 0; k < n; ++k) sum += L.probs[(h * n + q) * n + k];
        EXPECT_NEAR(sum, 1.0, 1e-5);
        const auto& top = L.top[h * n + q];
        ASSERT_EQ(top.size(), std::min<size_t>(2, q + 1));
        EXPECT_EQ(top[0].prob, *std::max_element(&L.probs[(h * n + q) * n], &L.probs[(h * n + q) * n] + q + 1));
        EXPECT_GE(L.entropy[h * n + q], 0.0f);
        EXPECT_LE(L.entropy[h * n + q], std::log2(q + 1.0) + 1e-4);
      }
      EXPECT_EQ(L.entropy[h * n], 0.0f);  // position 0 sees only itself
    }
  }
  // The last layer's output through the final norm and classifier is the model's prediction.
  const ExplainedLayer& last = e.layers[1];
  for (int64_t p = 0; p < n; ++p) {
    ASSERT_EQ(last.lens[p].size(), e.next[p].size());
    for (size_t k = 0; k < e.next[p].size(); ++k) {
      EXPECT_EQ(last.lens[p][k].token, e.next[p][k].token);
      EXPECT_NEAR(last.lens[p][k].logprob, e.next[p][k].logprob, 1e-5);
    }
  }
}

// int8 activations against q8_0 weights move the logits a little: explain reports
// what the loaded model computes with its own kernel configuration, not the default's.
TEST(Explain, RunsTheLoadedModelsKernelConfiguration) {
  const std::string path = chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf";
  chorus::kernels::KernelConfig int8 = chorus::kernels::default_kernel_config();
  int8.activations = chorus::kernels::ActivationPrecision::kInt8;
  LoadedModel m = load_model(path, "", chorus::kernels::GgmlType::Q8_0, int8);
  LoadedModel f32 = load_model(path, "", chorus::kernels::GgmlType::Q8_0);
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
  const Explanation e = explain(m, prompt, ExplainOptions{});
  const Explanation e_f32 = explain(f32, prompt, ExplainOptions{});

  chorus::runtime::ContiguousKvCache kv(m.file.config.n_layers, m.file.config.kv_dim(), 8);
  const chorus::models::SequenceChunk chunk{0, prompt, 0, true};
  std::vector<float> logits, logp;
  m.model->forward(m.weights, {&chunk, 1}, kv, logits);
  double largest_f32_gap = 0.0;
  for (size_t p = 0; p < prompt.size(); ++p) {
    log_softmax({logits.data() + p * m.file.config.vocab_size, static_cast<size_t>(m.file.config.vocab_size)}, logp);
    for (const TokenLogprob& t : e.next[p]) EXPECT_NEAR(t.logprob, logp[t.token], 1e-6) << "position " << p;
    largest_f32_gap = std::max<double>(largest_f32_gap, std::fabs(e.next[p][0].logprob - e_f32.next[p][0].logprob));
  }
  EXPECT_GT(largest_f32_gap, 1e-6);  // the two configurations do differ here
}

TEST(Explain, RefusesBadInput) {
  ExplainOptions o;
  EXPECT_THROW(explain(chorus::test::stories_model(), std::vector<int32_t>{}, o), chorus::Error);
  o.layers = {chorus::test::stories_model().file.config.n_layers};
  EXPECT_THROW(explain(chorus::test::stories_model(), std::vector<int32_t>{1, 403}, o), chorus::Error);
  EXPECT_THROW(explain(chorus::test::stories_model(), std::vector<int32_t>(kMaxExplainTokens + 1, 403), ExplainOptions{}), chorus::Error);
}

}  // namespace
