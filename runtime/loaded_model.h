// A model ready to run: its file, tokenizer, chat template and forward pass.
#pragma once

#include <memory>
#include <string>

#include "models/chat_template.h"
#include "models/llama_model.h"
#include "models/llama_weights.h"
#include "models/model_file.h"
#include "models/tokenizer.h"

namespace chorus::runtime {

struct LoadedModel {
  models::ModelFile file;
  std::unique_ptr<models::Tokenizer> tokenizer;
  models::LlamaWeights weights;  // views into the file's mapping
  std::unique_ptr<models::LlamaModel> model;
  models::ChatTemplate chat;
  bool add_bos = true;  // whether a plain prompt starts with BOS
};

// Opens the model file and its tokenizer: the vocabulary embedded in a GGUF file,
// or a llama2.c tokenizer.bin (tokenizer_path, else tokenizer.bin or tok<vocab>.bin
// beside the model). Throws chorus::Error when the tokenizer does not fit the model.
LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path = "");

}  // namespace chorus::runtime
