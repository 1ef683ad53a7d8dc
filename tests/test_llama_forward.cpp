// The Llama forward pass against published reference logits and greedy ids.
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "kernels/kernel_config.h"
#include "models/llama_model.h"
#include "models/model_file.h"
#include "runtime/contiguous_kv_cache.h"
#include "runtime/loaded_model.h"
#include "runtime/paged_kv_cache.h"
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
  EXPECT_EQ(std::vector<float>(both.begin(), both.begin() + V), alone_a);
  EXPECT_EQ(std::vector<float>(both.begin() + V, both.end()), alone_b);
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

// Two models configured differently live in one process: each runs with its
// own kernel configuration, whatever the other does between its calls.
TEST(LlamaForward, TwoModelsKeepTheirOwnKernelConfig) {
  using chorus::kernels::ActivationPrecision;
  using chorus::kernels::KernelConfig;
  const std::string path = chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf";
  const KernelConfig exact{chorus::kernels::best_kernel_path(), ActivationPrecision::kF32};
  const KernelConfig int8{chorus::kernels::best_kernel_path(), ActivationPrecision::kInt8};
  // q8_0 weights, where the activation precision changes the numbers.
  chorus::runtime::LoadedModel a = chorus::runtime::load_model(path, "", chorus::kernels::GgmlType::Q8_0, exact);
  chorus::runtime::LoadedModel b = chorus::runtime::load_model(path, "", chorus::kernels::GgmlType::Q8_0, int8);
  EXPECT_EQ(a.model->kernel_config().activations, ActivationPrecision::kF32);
  EXPECT_EQ(b.model->kernel_config().activations, ActivationPrecision::kInt8);
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
  auto run = [&](chorus::runtime::LoadedModel& m) {
    chorus::runtime::ContiguousKvCache kv(m.file.config.n_layers, m.file.config.kv_dim(), 16);
    std::vector<float> logits;
    SequenceChunk c{0, prompt, 0};
    m.model->forward(m.weights, {&c, 1}, kv, logits);
    return logits;
  };
  const std::vector<float> a1 = run(a), b1 = run(b), a2 = run(a), b2 = run(b);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(b1, b2);
  EXPECT_NE(a1, b1);
  LlamaModel alone(a.file.config, int8);
  chorus::runtime::ContiguousKvCache kv(a.file.config.n_layers, a.file.config.kv_dim(), 16);
  std::vector<float> logits;
  SequenceChunk c{0, prompt, 0};
  alone.forward(b.weights, {&c, 1}, kv, logits);
  EXPECT_EQ(logits, b1);
}

TEST(LlamaForward, RefusesAKernelPathTheCpuCannotRun) {
  if (chorus::kernels::kernel_path_available(chorus::kernels::KernelPath::kAvx512))
    GTEST_SKIP() << "this CPU runs every path";
  auto file = chorus::models::open_model_file(chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin");
  const chorus::kernels::KernelConfig avx512{chorus::kernels::KernelPath::kAvx512,
                                             chorus::kernels::ActivationPrecision::kF32};
  EXPECT_THROW(LlamaModel(file.config, avx512), chorus::Error);
  LlamaModel model(file.config);
  EXPECT_THROW(model.set_kernel_config(avx512), chorus::Error);
}

// A sequence's logits are bit for bit the same whatever it is batched with:
// random companions (new prompts of random length, some wanting every row's
// logits) share every forward call of a probe sequence (a prompt, then decode
// steps), over the paged cache, at a random place in the batch, against the
// probe alone over a contiguous cache. Every activation precision, each of
// `paths` the CPU has.
void expect_batch_invariance(const chorus::runtime::LoadedModel& m, chorus::kernels::KernelPath p, int max_companions,
                             uint32_t seed) {
  using chorus::kernels::ActivationPrecision;
  const auto& c = m.file.config;
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 290, 17}, decoded = {70, 80, 301, 9};
  const size_t V = c.vocab_size;
  std::mt19937 rng(seed);
  for (ActivationPrecision precision :
       {ActivationPrecision::kF32, ActivationPrecision::kInt16, ActivationPrecision::kInt8}) {
    SCOPED_TRACE(chorus::kernels::activation_precision_name(precision));
    LlamaModel model(c, {p, precision});
    auto probe_step = [&](size_t step) {
      return step == 0 ? SequenceChunk{0, prompt, 0, true}
                       : SequenceChunk{0, {&decoded[step - 1], 1}, static_cast<int32_t>(prompt.size() + step - 1)};
    };
    std::vector<std::vector<float>> alone;
    {
      chorus::runtime::ContiguousKvCache kv(c.n_layers, c.kv_dim(), 32);
      for (size_t step = 0; step <= decoded.size(); ++step) {
        const SequenceChunk chunk = probe_step(step);
        model.forward(m.weights, {&chunk, 1}, kv, alone.emplace_back());
      }
    }
    chorus::runtime::PagedKvCache kv({c.n_layers, c.kv_dim(), 16, 256});
    kv.add_sequence(0);
    int32_t next_seq = 1;
    for (size_t step = 0; step <= decoded.size(); ++step) {
      const int n_others = std::uniform_int_distribution<int>(1, max_companions)(rng);
      std::vector<std::vector<int32_t>> companions(n_others);  // their tokens, owned here
      std::vector<SequenceChunk> batch;
      for (auto& toks : companions) {
        toks.resize(std::uniform_int_distribution<size_t>(1, 9)(rng));
        for (int32_t& t : toks) t = std::uniform_int_distribution<int32_t>(3, c.vocab_size - 1)(rng);
        kv.add_sequence(next_seq);
        batch.push_back({next_seq++, toks, 0, rng() % 2 == 0});
      }
      const size_t at = std::uniform_int_distribution<size_t>(0, batch.size())(rng);
      batch.insert(batch.begin() + static_cast<std::ptrdiff_t>(at), probe_step(step));
      std::vector<float> logits;
      model.forward(m.weights, batch, kv, logits);
      size_t row = 0;  // the probe's first logits row
      for (size_t i = 0; i < at; ++i) row += batch[i].all_logits ? batch[i].tokens.size() : 1;
      const std::vector<float>& want = alone[step];
      ASSERT_EQ(std::vector<float>(logits.begin() + row * V, logits.begin() + row * V + want.size()), want)
          << "step " << step << ", " << n_others << " companions, probe at " << at;
      for (const SequenceChunk& ch : batch)
        if (ch.seq != 0) kv.free_sequence(ch.seq);
    }
  }
}

using chorus::kernels::KernelPath;

// One instance per path; a path this CPU cannot run reports skipped.
class BatchInvariance : public ::testing::TestWithParam<KernelPath> {
 protected:
  void SetUp() override {
    if (!chorus::kernels::kernel_path_available(GetParam()))
      GTEST_SKIP() << "this CPU cannot run the " << chorus::kernels::kernel_path_name(GetParam()) << " path";
  }
};

// Every weight type stories260K converts to.
TEST_P(BatchInvariance, LogitsDoNotDependOnTheBatch) {
  using chorus::kernels::GgmlType;
  const std::string path = chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf";
  for (std::optional<GgmlType> dtype : std::initializer_list<std::optional<GgmlType>>{
           std::nullopt, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1}) {
    SCOPED_TRACE(dtype ? chorus::kernels::type_name(*dtype) : "file (f32)");
    expect_batch_invariance(chorus::runtime::load_model(path, "", dtype), GetParam(), 12, 7);
  }
}

// The k-quants (q4_K, q5_0, q6_K, q8_0 in a Q4_K_M file) and Q4_1 in real models (the
// scalar path is too slow for them).
TEST_P(BatchInvariance, RealModelLogitsDoNotDependOnTheBatch) {
  if (GetParam() == KernelPath::kScalar) GTEST_SKIP() << "real models on the SIMD paths only";
  for (const std::string file : {"SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"}) {
    const std::string path = chorus::test::model_dir() + "/" + file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched (run scripts/setup.sh)";
    SCOPED_TRACE(file);
    expect_batch_invariance(chorus::runtime::load_model(path), GetParam(), 4, 11);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPath, BatchInvariance,
                         ::testing::Values(KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512),
                         [](const auto& info) { return std::string(chorus::kernels::kernel_path_name(info.param)); });

}  // namespace
