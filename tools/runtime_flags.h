// Flags every compute command shares: threads, kernel path, activation precision.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "chorus/model.h"
#include "kernels/ggml_types.h"
#include "kernels/kernel_config.h"
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
// Sets the thread count and returns the kernel configuration the flags choose
// (default_kernel_config() for what they leave out), for the commands to pass
// into the models they build; throws chorus::Error for a path the CPU cannot run.
kernels::KernelConfig apply_runtime_flags(const RuntimeFlags& flags);
// The --dtype choice for runtime::load_model (nullopt: the file's types).
std::optional<kernels::GgmlType> load_dtype(const RuntimeFlags& flags);
// Commands that run a registry's experts: --dtype and --activations, when given, replace every expert's own.
void override_experts(const RuntimeFlags& flags, runtime::ExpertRegistry& registry);

}  // namespace chorus::cli
