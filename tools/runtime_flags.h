// Flags every compute command shares: threads, kernel path, activation precision.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace chorus::cli {

struct RuntimeFlags {
  int threads = 0;          // 0: all cores
  std::string kernel_path;  // empty: best for this CPU
  std::string activations;  // empty: the default (f32)
};

void add_runtime_flags(CLI::App* cmd, RuntimeFlags& flags);
// Applies the flags process-wide; throws chorus::Error for a path the CPU cannot run.
void apply_runtime_flags(const RuntimeFlags& flags);

}  // namespace chorus::cli
