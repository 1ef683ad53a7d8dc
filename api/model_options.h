// The public options (strings and numbers a caller may get wrong) checked and
// turned into what the runtime takes. Every refusal names the option.
#pragma once

#include <optional>

#include "chorus/model.h"
#include "kernels/cpu_features.h"
#include "kernels/ggml_types.h"
#include "kernels/kernel_config.h"
#include "models/llama_config.h"
#include "runtime/engine.h"

namespace chorus::api {

struct RuntimeSettings {
  int32_t threads = 0;  // 0: OpenMP's default
  kernels::KernelConfig kernels;  // default_kernel_config() for what the options leave out
  bool activations_given = false;  // the options chose the activations (they override an expert's own)
  std::optional<kernels::GgmlType> dtype;
};

// Throws chorus::Error (kInvalidArgument, or kUnsupported for a path this CPU cannot run).
RuntimeSettings resolve_settings(int32_t threads, const std::string& kernel_path, const std::string& activations,
                                 const std::string& dtype);

// The engine for a model of `config`: `context` positions per sequence (0: the
// model's, at most 4096), `max_running` sequences, a KV pool as ModelOptions says.
runtime::EngineOptions engine_options(const models::LlamaConfig& config, int32_t context, int32_t max_running,
                                      int64_t kv_budget_bytes);

// The hardware threads a setting may ask for at most (4x the machine's).
int32_t max_threads();

}  // namespace chorus::api
