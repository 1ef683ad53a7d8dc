// Flags every compute command shares: threads, kernel path, activation precision.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "chorus/model.h"
#include "kernels/ggml_types.h"
#include "runtime/expert_registry.h"

namespace chorus::cli {

struct RuntimeFlags {
  int threads = 0;          // 0: all cores
  std::string kernel_path;  // empty: best for this CPU
  std::string activations;  // empty: the default (f32)
  std::string dtype;        // empty: run the file's weight types
};

void add_runtime_flags(CLI::App* cmd, RuntimeFlags& flags);
// The flags as a Model's options.
ModelOptions model_options(const RuntimeFlags& flags);
// Applies the flags process-wide; throws chorus::Error for a path the CPU cannot run.
void apply_runtime_flags(const RuntimeFlags& flags);
// The --dtype choice for runtime::load_model (nullopt: the file's types).
std::optional<kernels::GgmlType> load_dtype(const RuntimeFlags& flags);
// Commands that run a registry's experts: --dtype, when given, replaces every expert's own dtype.
void override_dtype(const RuntimeFlags& flags, runtime::ExpertRegistry& registry);

}  // namespace chorus::cli
