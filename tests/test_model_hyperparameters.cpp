// A GGUF model's hyperparameters and tensors as its architecture reads them:
// every value out of a sane range, key the architecture does not read, tensor
// its forward pass does not use, and unsupported architecture is an error that
// names the file and the key or tensor (issue 15, items 9 and 10).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "models/gguf_writer.h"
#include "models/llama_weights.h"
#include "models/model_file.h"
#include "runtime/loaded_model.h"
#include "tests/test_paths.h"

namespace chorus::models {
namespace {

using kernels::GgmlType;

// A tiny model of `arch` (dim 8, 2 heads, 1 KV head, 1 layer, vocab 4) with the
// tensors that architecture has; `edit` may change the keys and tensors before writing.
struct TinyModel {
  std::string arch = "llama";
  std::function<void(GgufWriter&)> extra_keys = [](GgufWriter&) {};
  float eps = 1e-5f, rope_base = 10000.0f;
  uint32_t heads = 2, kv_heads = 1, dim = 8;
  bool extra_tensor = false;

  std::string write(const std::string& name) const {
    GgufWriter w;
    w.add_string("general.architecture", arch);
    const std::string a = arch + ".";
    w.add_uint32(a + "embedding_length", dim);
    w.add_uint32(a + "feed_forward_length", 16);
    w.add_uint32(a + "block_count", 1);
    w.add_uint32(a + "attention.head_count", heads);
    w.add_uint32(a + "attention.head_count_kv", kv_heads);
    w.add_float32(a + "attention.layer_norm_rms_epsilon", eps);
    w.add_float32(a + "rope.freq_base", rope_base);
    if (arch == "gemma3") w.add_uint32(a + "attention.sliding_window", 4);
    extra_keys(w);
    auto f32 = [](int64_t n) { return std::vector<uint8_t>(static_cast<size_t>(n) * 4, 0); };
    // Tensor shapes stay writable when the keys are absurd (0 heads): the keys are what is tested.
    const int64_t d = dim, hd = heads > 0 && dim % heads == 0 ? dim / heads : 4, kv = kv_heads * hd;
    const int64_t q = std::max<int64_t>(heads, 1) * hd;
    w.add_tensor("token_embd.weight", {d, 4}, GgmlType::F32, f32(d * 4));
    w.add_tensor("output_norm.weight", {d}, GgmlType::F32, f32(d));
    w.add_tensor("blk.0.attn_norm.weight", {d}, GgmlType::F32, f32(d));
    w.add_tensor("blk.0.attn_q.weight", {d, q}, GgmlType::F32, f32(d * q));
    w.add_tensor("blk.0.attn_k.weight", {d, kv}, GgmlType::F32, f32(d * kv));
    w.add_tensor("blk.0.attn_v.weight", {d, kv}, GgmlType::F32, f32(d * kv));
    w.add_tensor("blk.0.attn_output.weight", {q, d}, GgmlType::F32, f32(q * d));
    w.add_tensor("blk.0.ffn_norm.weight", {d}, GgmlType::F32, f32(d));
    w.add_tensor("blk.0.ffn_gate.weight", {d, 16}, GgmlType::F32, f32(d * 16));
    w.add_tensor("blk.0.ffn_up.weight", {d, 16}, GgmlType::F32, f32(d * 16));
    w.add_tensor("blk.0.ffn_down.weight", {16, d}, GgmlType::F32, f32(16 * d));
    if (arch == "qwen2") {
      w.add_tensor("blk.0.attn_q.bias", {q}, GgmlType::F32, f32(q));
      w.add_tensor("blk.0.attn_k.bias", {kv}, GgmlType::F32, f32(kv));
      w.add_tensor("blk.0.attn_v.bias", {kv}, GgmlType::F32, f32(kv));
    }
    if (extra_tensor) w.add_tensor("blk.0.attn_output.bias", {d}, GgmlType::F32, f32(d));
    const std::string path = test::temp_dir("hyperparameters") + "/" + name + ".gguf";
    const auto bytes = w.bytes();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
    return path;
  }
};

// Opens and binds the file, expecting an error of `code` whose message names the file and `what`.
void expect_refused(const TinyModel& m, const std::string& name, ErrorCode code, const std::string& what) {
  const std::string path = m.write(name);
  try {
    const ModelFile f = open_model_file(path);
    bind_llama_weights(f);
    ADD_FAILURE() << name << ": accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), code) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "'" << what << "' not in: " << msg;
  }
}

TEST(ModelHyperparameters, ValidTinyModelsOfEachArchitectureBind) {
  for (const std::string arch : {"llama", "qwen2"}) {
    TinyModel m;
    m.arch = arch;
    const ModelFile f = open_model_file(m.write(arch));
    EXPECT_EQ(f.config.arch->name, arch);
    EXPECT_EQ(bind_llama_weights(f).layers.size(), 1u);
  }
}

TEST(ModelHyperparameters, EpsilonThatIsNaNNegativeOrZeroIsRefused) {
  for (float eps : {std::nanf(""), -1e-5f, 0.0f, std::numeric_limits<float>::infinity()}) {
    TinyModel m;
    m.eps = eps;
    expect_refused(m, "eps", ErrorCode::kFormat, "llama.attention.layer_norm_rms_epsilon");
  }
}

TEST(ModelHyperparameters, RopeBaseAtMostZeroIsRefused) {
  for (float base : {0.0f, -10000.0f, std::nanf("")}) {
    TinyModel m;
    m.rope_base = base;
    expect_refused(m, "rope", ErrorCode::kFormat, "llama.rope.freq_base");
  }
}

TEST(ModelHyperparameters, HeadCountsThatDoNotFitAreRefused) {
  TinyModel zero;
  zero.heads = 0;
  expect_refused(zero, "zero_heads", ErrorCode::kFormat, "llama.attention.head_count");
  TinyModel uneven;
  uneven.heads = 3;  // does not divide dim 8
  uneven.kv_heads = 1;
  expect_refused(uneven, "uneven_heads", ErrorCode::kFormat, "llama.attention.head_count");
  TinyModel kv;
  kv.kv_heads = 3;  // does not divide 2 heads
  expect_refused(kv, "kv_heads", ErrorCode::kFormat, "llama.attention.head_count_kv");
}

TEST(ModelHyperparameters, AKeyTheArchitectureDoesNotReadIsRefused) {
  TinyModel m;
  m.extra_keys = [](GgufWriter& w) { w.add_float32("llama.rope.scaling.factor", 4.0f); };
  expect_refused(m, "rope_scaling", ErrorCode::kUnsupported, "llama.rope.scaling.factor");
  TinyModel g;
  g.arch = "qwen2";
  g.extra_keys = [](GgufWriter& w) { w.add_float32("qwen2.final_logit_softcapping", 30.0f); };
  expect_refused(g, "softcap", ErrorCode::kUnsupported, "qwen2.final_logit_softcapping");
}

TEST(ModelHyperparameters, ATensorTheForwardPassDoesNotUseIsRefused) {
  TinyModel m;
  m.extra_tensor = true;
  expect_refused(m, "extra_tensor", ErrorCode::kUnsupported, "blk.0.attn_output.bias");
}

TEST(ModelHyperparameters, AMissingTensorOfTheArchitectureIsNamed) {
  TinyModel m;
  m.arch = "gemma3";  // needs q/k norms and post norms the tiny llama layout lacks
  expect_refused(m, "gemma_missing", ErrorCode::kNotFound, "blk.0.attn_q_norm.weight");
}

TEST(ModelHyperparameters, AnUnsupportedArchitectureSaysWhichAreSupported) {
  TinyModel m;
  m.arch = "mamba";
  const std::string path = m.write("mamba");
  EXPECT_NO_THROW(open_model_file(path)) << "inspectable";
  try {
    runtime::load_model(path);
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << msg;
    EXPECT_NE(msg.find("'mamba' is not supported (supported: llama, qwen2, gemma3)"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace chorus::models
