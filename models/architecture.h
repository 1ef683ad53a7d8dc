// A model family described as data: what each layer has and in which order.
// The one batch-first forward pass (llama_model.cpp) reads these flags; adding
// a family is adding a row to the table in architecture.cpp, not a new model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chorus::models {

enum class RopeStyle {
  kAdjacentPairs,  // (x[2i], x[2i+1]): llama2.c, GGUF `llama` (the converter permutes Q/K rows)
  kHalves,         // (x[i], x[i + d/2]): GPT-NeoX, Qwen2, Gemma 3
};

enum class FfnActivation {
  kSilu,      // SwiGLU: silu(gate) * up
  kGeluTanh,  // GeGLU: gelu_tanh(gate) * up
};

struct Architecture {
  std::string_view name;  // general.architecture
  RopeStyle rope = RopeStyle::kAdjacentPairs;
  FfnActivation ffn = FfnActivation::kSilu;
  bool qkv_bias = false;             // attn_{q,k,v}.bias added after the projections
  bool qk_norm = false;              // per-head RMSNorm of q and k (attn_{q,k}_norm), before rope
  bool post_attention_norm = false;  // RMSNorm of the attention output before the residual add
  bool post_ffn_norm = false;        // RMSNorm of the feed-forward output before the residual add
  bool scale_embedding = false;      // token embeddings times sqrt(dim)
  // Sliding-window layers: every layer l with (l + 1) % pattern != 0 sees only the
  // last `{arch}.attention.sliding_window` positions and rotates by rope_base_local.
  int32_t sliding_window_pattern = 0;  // 0: every layer is global
  float rope_base_local = 0;           // fixed by the family (not in its GGUF files)
  // Keys under "{name}." that this family reads beyond those every family reads.
  std::vector<std::string_view> extra_keys;

  // Whether the family reads "{name}.<key>"; a key it does not read is refused
  // (it may change the math: rope scaling, soft-capping, experts).
  bool reads_key(std::string_view key) const;
};

// The architecture named `name`, or nullptr.
const Architecture* find_architecture(std::string_view name);
// "llama, qwen2, gemma3": for error messages.
std::string supported_architectures();

struct LlamaConfig;
// One layer's steps in order, for `chorus inspect`: e.g. "rmsnorm > q k v +bias >
// rope halves (base 1e+06) > attention > + | rmsnorm > gate up > silu*up > down > +".
std::string describe_layer(const LlamaConfig& c);

}  // namespace chorus::models
