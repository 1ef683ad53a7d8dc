// chorus's forward pass against the independent numpy reference
// (tests/reference/llama_ref.py), whose output the ref_logits_* CTest fixtures write.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/kernel_config.h"
#include "kernels/matmul.h"
#include "models/llama_model.h"
#include "models/model_file.h"
#include "runtime/contiguous_kv_cache.h"
#include "tests/test_paths.h"

namespace {

using chorus::kernels::ActivationPrecision;

constexpr const char* kQwen05 = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
constexpr const char* kQwen15 = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
constexpr const char* kGemma3 = "gemma-3-270m-q4_k_m.gguf";

// Prefills the reference's tokens as one chunk and compares every position the
// reference wrote. Tolerance is relative to the largest reference logit of the row.
// With int8 or 16-bit activations the logits move by quantization noise; the
// greedy choice at every position must still agree with the reference.
void compare_with_reference(const std::string& model_path, const std::string& ref_name, double tol,
                            ActivationPrecision precision = ActivationPrecision::kF32) {
  const std::string ref_path = chorus::test::reference_dir() + "/" + ref_name + ".json";
  if (!std::filesystem::exists(ref_path)) GTEST_SKIP() << ref_path << " missing: run the ref_logits_" << ref_name << " fixture";
  std::ifstream in(ref_path);
  const nlohmann::json ref = nlohmann::json::parse(in);
  const auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  const auto positions = ref["positions"].get<std::vector<int32_t>>();

  auto file = chorus::models::open_model_file(model_path);
  const auto weights = chorus::models::bind_llama_weights(file);
  chorus::kernels::KernelConfig kernels = chorus::kernels::default_kernel_config();
  kernels.activations = precision;
  chorus::models::LlamaModel model(file.config, kernels);
  chorus::runtime::ContiguousKvCache kv(file.config.n_layers, file.config.kv_dim(), static_cast<int32_t>(tokens.size()));
  std::vector<float> logits;
  // A reference of the last position only (a long prompt) needs only that row.
  const bool last_only = positions.size() == 1 && positions[0] + 1 == static_cast<int32_t>(tokens.size());
  chorus::models::SequenceChunk chunk{0, tokens, 0, /*all_logits=*/!last_only};
  model.forward(weights, {&chunk, 1}, kv, logits);

  const size_t V = file.config.vocab_size;
  ASSERT_EQ(logits.size(), (last_only ? 1 : tokens.size()) * V);
  for (size_t r = 0; r < positions.size(); ++r) {
    const size_t row = last_only ? 0 : static_cast<size_t>(positions[r]);
    const auto want = ref["logits"][r].get<std::vector<double>>();
    ASSERT_EQ(want.size(), V);
    double scale = 1.0, worst = 0.0;
    for (double w : want) scale = std::max(scale, std::fabs(w));
    for (size_t i = 0; i < V; ++i) worst = std::max(worst, std::fabs(logits[row * V + i] - want[i]));
    EXPECT_LE(worst / scale, tol) << "position " << positions[r] << ": max |diff| " << worst << " (scale " << scale << ")";
    const auto got = logits.begin() + row * V;
    EXPECT_EQ(std::max_element(got, got + V) - got, std::max_element(want.begin(), want.end()) - want.begin())
        << "greedy token differs at position " << positions[r];
  }
}

TEST(ReferenceLogits, Aidreams260K) {
  compare_with_reference(chorus::test::fixture_dir() + "/models/aidreams260K/aidreams260K.bin", "aidreams260K", 1e-4);
}

TEST(ReferenceLogits, Stories260KGguf) {
  compare_with_reference(chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf", "stories260K", 1e-4);
}

TEST(ReferenceLogits, SmolLM2Q4_1) {
  if (!std::filesystem::exists(chorus::test::smollm2_path())) GTEST_SKIP() << "SmolLM2 not fetched (run scripts/setup.sh)";
  compare_with_reference(chorus::test::smollm2_path(), "smollm2", 1e-3);
}

// 16-bit activations, the fast exact mode: within a few 1e-4 of the f32 scale,
// greedy equal at every position.
TEST(ReferenceLogits, SmolLM2Q4_1Int16Activations) {
  if (!std::filesystem::exists(chorus::test::smollm2_path())) GTEST_SKIP() << "SmolLM2 not fetched (run scripts/setup.sh)";
  compare_with_reference(chorus::test::smollm2_path(), "smollm2", 1e-3, ActivationPrecision::kInt16);
}

TEST(ReferenceLogits, SmolLM2Q4_1Int8Activations) {
  if (!std::filesystem::exists(chorus::test::smollm2_path())) GTEST_SKIP() << "SmolLM2 not fetched (run scripts/setup.sh)";
  compare_with_reference(chorus::test::smollm2_path(), "smollm2", 5e-2, ActivationPrecision::kInt8);
}

// The other families, fetched by scripts/setup.sh (the 1.5B with --large): skipped when absent.
void compare_fetched(const std::string& file, const std::string& ref_name, double tol,
                     ActivationPrecision precision = ActivationPrecision::kF32) {
  const std::string path = chorus::test::model_dir() + "/" + file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched (run scripts/setup.sh)";
  compare_with_reference(path, ref_name, tol, precision);
}

TEST(ReferenceLogits, Qwen2Coder05B) { compare_fetched(kQwen05, "qwen2_0_5b", 1e-4); }
TEST(ReferenceLogits, Qwen2Coder05BChat) { compare_fetched(kQwen05, "qwen2_0_5b_chat", 1e-4); }
TEST(ReferenceLogits, Qwen2Coder15B) { compare_fetched(kQwen15, "qwen2_1_5b", 1e-4); }
TEST(ReferenceLogits, Qwen2Coder05BInt16Activations) {
  compare_fetched(kQwen05, "qwen2_0_5b", 1e-3, ActivationPrecision::kInt16);
}
TEST(ReferenceLogits, Qwen2Coder05BInt8Activations) {
  compare_fetched(kQwen05, "qwen2_0_5b", 5e-2, ActivationPrecision::kInt8);
}
TEST(ReferenceLogits, Gemma3_270M) { compare_fetched(kGemma3, "gemma3_270m", 1e-4); }
TEST(ReferenceLogits, Gemma3_270MInt16Activations) {
  compare_fetched(kGemma3, "gemma3_270m", 1e-3, ActivationPrecision::kInt16);
}
TEST(ReferenceLogits, Gemma3_270MInt8Activations) {
  compare_fetched(kGemma3, "gemma3_270m", 5e-2, ActivationPrecision::kInt8);
}
// 532 tokens: past the 512-position window of the sliding-window layers.
TEST(ReferenceLogits, Gemma3_270MPastSlidingWindow) { compare_fetched(kGemma3, "gemma3_270m_long", 1e-4); }

}  // namespace
