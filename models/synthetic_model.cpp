#include "models/synthetic_model.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/quantize.h"
#include "models/gguf_writer.h"
#include "models/vocabulary.h"

namespace chorus::models {

namespace {

LlamaConfig shape(int32_t dim, int32_t hidden, int32_t layers, int32_t heads, int32_t kv_heads, int32_t context) {
  LlamaConfig c;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.vocab_size = 32000;
  c.context_length = context;
  c.head_dim = dim / heads;
  c.rope_dim = c.head_dim;
  return c;
}

// GGUF general.file_type for an all-one-type file.
uint32_t file_type(kernels::GgmlType t) {
  switch (t) {
    case kernels::GgmlType::F32: return 0;
    case kernels::GgmlType::F16: return 1;
    case kernels::GgmlType::Q4_0: return 2;
    case kernels::GgmlType::Q4_1: return 3;
    case kernels::GgmlType::Q8_0: return 7;
    case kernels::GgmlType::BF16: return 32;
    default: return 0;
  }
}

// xorshift64*: the same weights on every machine for the same seed and tensor name.
class WeightRng {
 public:
  WeightRng(uint64_t seed, const std::string& name) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {
    for (char ch : name) s_ = (s_ ^ static_cast<uint8_t>(ch)) * 0x100000001B3ull;
    if (s_ == 0) s_ = 1;
  }
  float uniform() {  // [-1, 1)
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return static_cast<float>(((s_ * 0x2545F4914F6CDD1Dull) >> 40) * 0x1.0p-23) - 1.0f;
  }

 private:
  uint64_t s_;
};

std::vector<uint8_t> random_matrix(kernels::GgmlType type, int64_t cols, int64_t rows, uint64_t seed,
                                   const std::string& name) {
  WeightRng rng(seed, name);
  const float scale = std::sqrt(3.0f / static_cast<float>(cols));  // unit-variance outputs for unit inputs
  const size_t rb = kernels::row_bytes(type, cols);
  std::vector<uint8_t> out(rb * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = scale * rng.uniform();
    kernels::quantize_row(type, row.data(), out.data() + r * rb, cols);
  }
  return out;
}

std::vector<uint8_t> ones(int64_t n) {
  std::vector<float> v(n, 1.0f);
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + n * 4};
}

}  // namespace

const std::vector<SyntheticPreset>& synthetic_presets() {
  static const std::vector<SyntheticPreset> presets = {
      {"llama-15m", shape(288, 768, 6, 6, 6, 256), true},
      {"llama-42m", shape(512, 1376, 8, 8, 8, 1024), true},
      {"llama-110m", shape(768, 2048, 12, 12, 12, 1024), true},
      {"tinyllama-1.1b", shape(2048, 5632, 22, 32, 4, 2048), false},
  };
  return presets;
}

const SyntheticPreset& find_synthetic_preset(const std::string& name) {
  std::string names;
  for (const auto& p : synthetic_presets()) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error(ErrorCode::kNotFound, fmt::format("synth: unknown preset '{}' (presets: {})", name, names));
}

uint64_t write_synthetic_model(const SyntheticPreset& preset, kernels::GgmlType type, const std::string& tokenizer_bin,
                               uint64_t seed, const std::string& out_path) {
  if (!kernels::can_quantize(type))
    throw Error(ErrorCode::kInvalidArgument, fmt::format("synth: cannot write weights of type {}", kernels::type_name(type)));
  const LlamaConfig& c = preset.config;
  const Vocabulary vocab = read_llama2c_vocabulary(tokenizer_bin, c.vocab_size);

  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", fmt::format("chorus synthetic {}", preset.name));
  w.add_uint32("general.file_type", file_type(type));
  w.add_uint32("general.quantization_version", 2);
  w.add_uint32("llama.context_length", static_cast<uint32_t>(c.context_length));
  w.add_uint32("llama.embedding_length", static_cast<uint32_t>(c.dim));
  w.add_uint32("llama.block_count", static_cast<uint32_t>(c.n_layers));
  w.add_uint32("llama.feed_forward_length", static_cast<uint32_t>(c.hidden_dim));
  w.add_uint32("llama.attention.head_count", static_cast<uint32_t>(c.n_heads));
  w.add_uint32("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  w.add_uint32("llama.rope.dimension_count", static_cast<uint32_t>(c.rope_dim));
  w.add_float32("llama.rope.freq_base", c.rope_base);
  w.add_float32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  w.add_uint32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));

  // SentencePiece pieces use "▁" for a space; llama2.c's file stores spaces.
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    std::string t;
    for (char ch : vocab.texts[id]) t += ch == ' ' ? std::string("\xE2\x96\x81") : std::string(1, ch);
    tokens.push_back(std::move(t));
    types.push_back(id == 0 ? 2 : id <= 2 ? 3 : parse_byte_token(vocab.texts[id]) ? 6 : 1);
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_array("tokenizer.ggml.scores", vocab.scores);
  w.add_array("tokenizer.ggml.token_type", types);
  w.add_uint32("tokenizer.ggml.bos_token_id", 1);
  w.add_uint32("tokenizer.ggml.eos_token_id", 2);
  w.add_uint32("tokenizer.ggml.unknown_token_id", 0);
  w.add_bool("tokenizer.ggml.add_bos_token", true);

  const int64_t dim = c.dim, hid = c.hidden_dim, kv = c.kv_dim(), V = c.vocab_size;
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
    w.add_tensor(name, {cols, rows}, type, random_matrix(type, cols, rows, seed, name));
  };
  matrix("token_embd.weight", dim, V);
  w.add_tensor("output_norm.weight", {dim}, kernels::GgmlType::F32, ones(dim));
  if (!preset.tied_output) matrix("output.weight", dim, V);
  for (int l = 0; l < c.n_layers; ++l) {
    auto n = [l](const char* kind) { return fmt::format("blk.{}.{}.weight", l, kind); };
    w.add_tensor(n("attn_norm"), {dim}, kernels::GgmlType::F32, ones(dim));
    matrix(n("attn_q"), dim, dim);
    matrix(n("attn_k"), dim, kv);
    matrix(n("attn_v"), dim, kv);
    matrix(n("attn_output"), dim, dim);
    w.add_tensor(n("ffn_norm"), {dim}, kernels::GgmlType::F32, ones(dim));
    matrix(n("ffn_gate"), dim, hid);
    matrix(n("ffn_up"), dim, hid);
    matrix(n("ffn_down"), hid, dim);
  }
  w.write(out_path);
  return std::filesystem::file_size(out_path);
}

}  // namespace chorus::models
