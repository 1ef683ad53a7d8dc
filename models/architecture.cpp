#include "models/architecture.h"

#include <array>

#include <fmt/format.h>

#include "models/llama_config.h"

namespace chorus::models {

namespace {

// Keys under "{name}." that every family reads (or may carry without changing the math).
constexpr std::array<std::string_view, 12> kCommonKeys = {
    "context_length",          "embedding_length",      "block_count",
    "feed_forward_length",     "attention.head_count",  "attention.head_count_kv",
    "attention.layer_norm_rms_epsilon", "rope.freq_base", "rope.dimension_count",
    "vocab_size",              "attention.key_length",  "attention.value_length"};

const std::array<Architecture, 3>& table() {
  static const std::array<Architecture, 3> archs = {
      Architecture{.name = "llama"},
      Architecture{.name = "qwen2", .rope = RopeStyle::kHalves, .qkv_bias = true},
      // Gemma 3: every sixth layer global, the others a sliding window with rope base 10,000
      // (Hugging Face's rope_local_base_freq; the GGUF carries only the global base).
      Architecture{.name = "gemma3",
                   .rope = RopeStyle::kHalves,
                   .ffn = FfnActivation::kGeluTanh,
                   .qk_norm = true,
                   .post_attention_norm = true,
                   .post_ffn_norm = true,
                   .scale_embedding = true,
                   .sliding_window_pattern = 6,
                   .rope_base_local = 10000.0f,
                   .extra_keys = {"attention.sliding_window"}},
  };
  return archs;
}

}  // namespace

bool Architecture::reads_key(std::string_view key) const {
  for (std::string_view k : kCommonKeys)
    if (k == key) return true;
  for (std::string_view k : extra_keys)
    if (k == key) return true;
  return false;
}

const Architecture* find_architecture(std::string_view name) {
  for (const Architecture& a : table())
    if (a.name == name) return &a;
  return nullptr;
}

std::string supported_architectures() {
  std::vector<std::string_view> names;
  for (const Architecture& a : table()) names.push_back(a.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string describe_layer(const LlamaConfig& c) {
  const Architecture& a = *c.arch;
  int32_t local = 0;
  for (int32_t l = 0; l < c.n_layers; ++l) local += c.layer_is_local(l);
  std::string s = "rmsnorm > q k v";
  if (a.qkv_bias) s += " +bias";
  if (a.qk_norm) s += " > per-head q/k rmsnorm";
  s += fmt::format(" > rope {} (base {:g})", a.rope == RopeStyle::kHalves ? "halves" : "adjacent pairs", c.rope_base);
  s += fmt::format(" > attention (scale {:.4g}", c.scores_scale());
  if (local > 0)
    s += fmt::format("; {} of {} layers see the last {} positions, rope base {:g}", local, c.n_layers, c.sliding_window,
                     a.rope_base_local);
  s += ")";
  if (a.post_attention_norm) s += " > rmsnorm";
  s += " > + | rmsnorm > gate up > ";
  s += a.ffn == FfnActivation::kGeluTanh ? "gelu_tanh(gate)*up" : "silu(gate)*up";
  s += " > down";
  if (a.post_ffn_norm) s += " > rmsnorm";
  s += " > +";
  if (a.scale_embedding) s = "embedding x sqrt(dim); " + s;
  return s;
}

}  // namespace chorus::models
