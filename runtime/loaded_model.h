// A model ready to run: its file, tokenizer, chat template and forward pass.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kernels/kernel_config.h"
#include "models/chat_template.h"
#include "models/llama_model.h"
#include "models/llama_weights.h"
#include "models/model_file.h"
#include "models/tokenizer.h"
#include "runtime/weight_store.h"

namespace chorus::runtime {

struct LoadedModel {
  models::ModelFile file;
  std::unique_ptr<models::Tokenizer> tokenizer;
  // With a dtype, the weights come from a one-expert store that converts them on load.
  std::unique_ptr<WeightStore> store;
  PinnedExpert pin;
  models::LlamaWeights weights;  // views into the file's mapping, or of the pinned resident copy
  std::unique_ptr<models::LlamaModel> model;
  models::ChatTemplate chat;
  bool add_bos = true;  // whether a plain prompt starts with BOS
};

// Opens the model file and its tokenizer: the vocabulary embedded in a GGUF file,
// or a llama2.c tokenizer.bin (tokenizer_path, else tokenizer.bin or tok<vocab>.bin
// beside the model). Throws chorus::Error when the tokenizer does not fit the model.
// dtype: convert the f32/f16/bf16 matrices whose rows fill whole blocks to this
// type when loading (quantize on load); the others keep their file type.
// The model runs its kernels as `kernels` says.
LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path = "",
                       std::optional<kernels::GgmlType> dtype = std::nullopt,
                       const kernels::KernelConfig& kernels = kernels::default_kernel_config());

}  // namespace chorus::runtime
