// The tensors of a Llama-family model, checked for shape and type.
#pragma once

#include <vector>

#include "kernels/matmul.h"
#include "models/model_file.h"

namespace chorus::models {

// The tensors the architecture does not have are nullptr.
struct LlamaLayerWeights {
  const float* attn_norm;
  kernels::WeightMatrix wq, wk, wv, wo;
  const float* bq = nullptr;  // qkv_bias
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* q_norm = nullptr;  // qk_norm: head_dim weights shared by every head
  const float* k_norm = nullptr;
  const float* post_attention_norm = nullptr;
  const float* ffn_norm;
  kernels::WeightMatrix w_gate, w_up, w_down;
  const float* post_ffn_norm = nullptr;
};

struct LlamaWeights {
  kernels::WeightMatrix token_embedding;  // vocab rows of dim
  const float* output_norm;
  kernels::WeightMatrix output;           // vocab rows of dim (the embedding when tied)
  std::vector<LlamaLayerWeights> layers;
};

// Binds views of the file's tensors as its architecture lays them out; throws
// chorus::Error naming the tensor on a missing tensor, a wrong shape, a type the
// kernels cannot run, or a tensor the architecture does not use (it would be
// part of the math that chorus leaves out).
LlamaWeights bind_llama_weights(const ModelFile& file);

// The file's architecture; throws kUnsupported naming it and the supported ones.
const Architecture& require_architecture(const ModelFile& file);

}  // namespace chorus::models
