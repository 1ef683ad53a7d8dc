// Model files of real shapes with deterministic random weights, for speed work
// (speed does not depend on weight values) and for tests that need a big model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_types.h"
#include "models/llama_config.h"

namespace chorus::models {

struct SyntheticPreset {
  std::string name;
  LlamaConfig config;
  bool tied_output;  // the TinyStories shapes share the classifier; TinyLlama does not
};

const std::vector<SyntheticPreset>& synthetic_presets();
// Throws kNotFound listing the presets.
const SyntheticPreset& find_synthetic_preset(const std::string& name);

// Writes a GGUF v3 `llama` file with the standard keys and tensor names, the
// weights in `type` (f32, f16, bf16, q8_0, q4_0 or q4_1; norms stay f32) and the
// SentencePiece vocabulary of a llama2.c tokenizer.bin (the Llama 2 one has
// the 32000 tokens these shapes expect). Returns the bytes written.
uint64_t write_synthetic_model(const SyntheticPreset& preset, kernels::GgmlType type, const std::string& tokenizer_bin,
                               uint64_t seed, const std::string& out_path);

}  // namespace chorus::models
