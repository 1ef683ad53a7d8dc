// The tensors of a Llama-family model, checked for shape and type.
#pragma once

#include <vector>

#include "kernels/matmul.h"
#include "models/model_file.h"

namespace chorus::models {

struct LlamaLayerWeights {
  const float* attn_norm;
  kernels::WeightMatrix wq, wk, wv, wo;
  const float* ffn_norm;
  kernels::WeightMatrix w_gate, w_up, w_down;
};

struct LlamaWeights {
  kernels::WeightMatrix token_embedding;  // vocab rows of dim
  const float* output_norm;
  kernels::WeightMatrix output;           // vocab rows of dim (the embedding when tied)
  std::vector<LlamaLayerWeights> layers;
};

// Binds views of the file's tensors; throws chorus::Error naming the tensor on a
// missing tensor, a wrong shape or a type the kernels cannot run.
LlamaWeights bind_llama_weights(const ModelFile& file);

}  // namespace chorus::models
