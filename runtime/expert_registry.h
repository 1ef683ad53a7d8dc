// The expert registry: which experts exist, where their files are, how to run
// them, and the store's byte budgets — read from experts.json (format and
// example in docs/weight_store.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/ggml_types.h"
#include "kernels/kernel_config.h"
#include "runtime/sampler.h"

namespace chorus::runtime {

struct GenerationDefaults {
  int32_t max_tokens = 256;
  SamplingParams sampling;
};

struct ExpertSpec {
  std::string name;
  std::string model_path;      // resolved against the config file's folder
  std::string tokenizer_path;  // "" when the model file embeds its vocabulary
  // The weight type of the resident copy's matrices; nullopt keeps the file's
  // types. Only f32/f16/bf16 matrices whose rows fill whole blocks convert.
  std::optional<kernels::GgmlType> dtype;
  // How its activations meet quantized weights; nullopt: the engine options' choice.
  std::optional<kernels::ActivationPrecision> activations;
  std::vector<std::string> categories;
  std::string prompt_template;  // e.g. "Q: {{question}}\nA:"; "" = the question as is
  GenerationDefaults generation;
};

struct StoreBudgets {
  uint64_t resident_bytes = 1ull << 30;
  uint64_t host_bytes = 4ull << 30;
};

struct ExpertRegistry {
  std::string path;  // the config file
  std::vector<ExpertSpec> experts;
  StoreBudgets store;
  std::string fallback_expert;       // "" when none is named
  std::string planner_expert;        // writes plans under the plan grammar; "" when none is named
  bool refuse_out_of_domain = true;  // else out-of-domain questions go to the fallback expert

  const ExpertSpec* find(std::string_view name) const;
};

// Parses and checks the config: every model file opens, every tokenizer's
// vocabulary matches its model's, names are unique, fields are known.
// Throws chorus::Error naming the config file and the entry.
ExpertRegistry load_expert_registry(const std::string& path);
// The same from JSON text; relative paths resolve against `base_dir`.
ExpertRegistry parse_expert_registry(std::string_view json_text, const std::string& config_name,
                                     const std::string& base_dir);

// The types an expert's `dtype` may name ("q8_0", "q4_0", "q4_1", "bf16", "f16", "f32").
std::optional<kernels::GgmlType> resident_dtype_from_name(std::string_view name);

}  // namespace chorus::runtime
