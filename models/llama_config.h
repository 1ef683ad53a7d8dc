// Hyperparameters of a Llama-family transformer.
#pragma once

#include <cstdint>

namespace chorus::models {

struct LlamaConfig {
  int32_t dim = 0;             // embedding width
  int32_t hidden_dim = 0;      // feed-forward width
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;      // < n_heads means grouped-query attention
  int32_t vocab_size = 0;
  int32_t context_length = 0;  // the longest sequence the model was trained for
  int32_t head_dim = 0;        // dim / n_heads
  int32_t rope_dim = 0;        // leading elements of each head that rotate (usually head_dim)
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;

  int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace chorus::models
