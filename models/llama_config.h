// Hyperparameters of a Llama-family transformer (Llama, Qwen2, Gemma 3: what
// differs between them is data in `arch`, read by the one forward pass).
#pragma once

#include <cmath>
#include <cstdint>

#include "models/architecture.h"

namespace chorus::models {

struct LlamaConfig {
  const Architecture* arch = find_architecture("llama");
  int32_t dim = 0;             // embedding width
  int32_t hidden_dim = 0;      // feed-forward width
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;      // < n_heads means grouped-query attention
  int32_t vocab_size = 0;
  int32_t context_length = 0;  // the longest sequence the model was trained for
  int32_t head_dim = 0;        // dim / n_heads unless the file says otherwise (Gemma 3: 256 with dim 640)
  int32_t rope_dim = 0;        // leading elements of each head that rotate (usually head_dim)
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  float attention_scale = 0;   // the scores' factor; 0 means 1/sqrt(head_dim)
  int32_t sliding_window = 0;  // positions a local layer sees (0: none)

  int32_t q_dim() const { return n_heads * head_dim; }
  int32_t kv_dim() const { return n_kv_heads * head_dim; }
  float scores_scale() const { return attention_scale > 0 ? attention_scale : 1.0f / std::sqrt(float(head_dim)); }
  bool layer_is_local(int32_t layer) const {
    return sliding_window > 0 && arch->sliding_window_pattern > 0 && (layer + 1) % arch->sliding_window_pattern != 0;
  }
  float layer_rope_base(int32_t layer) const { return layer_is_local(layer) ? arch->rope_base_local : rope_base; }
  // The first position that a row at `pos` attends to in `layer`.
  int32_t first_visible(int32_t layer, int32_t pos) const {
    return layer_is_local(layer) && pos >= sliding_window ? pos - sliding_window + 1 : 0;
  }
};

}  // namespace chorus::models
