#include "tools/runtime_flags.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "models/utf8.h"
#include "runtime/expert_registry.h"
#include "tools/number_flags.h"

namespace chorus::cli {

void add_runtime_flags(CLI::App* cmd, RuntimeFlags& f) {
  cmd->add_option("--threads", f.threads, fmt::format("Worker threads, 1 to {} (default: all cores)", max_threads()))
      ->check(integer_in(1, max_threads()));
  cmd->add_option("--kernel-path", f.kernel_path,
                  "Force the SIMD path: avx512, avx2 or scalar (default: the best this CPU runs; env CHORUS_KERNEL_PATH)")
      ->check(CLI::IsMember({"avx512", "avx2", "scalar"}));
  cmd->add_option("--activations", f.activations,
                  "How activations meet quantized weights: f32 (exact, default) or int8 (faster integer dot products; "
                  "env CHORUS_ACTIVATIONS)")
      ->check(CLI::IsMember({"f32", "int8"}));
  cmd->add_option("--dtype", f.dtype,
                  "Convert f32/f16/bf16 weight matrices to this type on load (quantize on load): f32, f16, bf16, q8_0, "
                  "q4_0 or q4_1; matrices whose rows do not fill whole blocks keep their type (`chorus inspect --dtype` "
                  "lists them)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"}));
}

ModelOptions model_options(const RuntimeFlags& f) {
  ModelOptions o;
  o.threads = f.threads;
  o.kernel_path = f.kernel_path;
  o.activations = f.activations;
  o.dtype = f.dtype;
  return o;
}

std::optional<kernels::GgmlType> load_dtype(const RuntimeFlags& f) {
  if (f.dtype.empty()) return std::nullopt;
  return runtime::resident_dtype_from_name(f.dtype);
}

void override_dtype(const RuntimeFlags& f, runtime::ExpertRegistry& registry) {
  if (const auto dtype = load_dtype(f))
    for (runtime::ExpertSpec& e : registry.experts) e.dtype = dtype;
}

void apply_runtime_flags(const RuntimeFlags& f) {
  // The kernels read CHORUS_ACTIVATIONS themselves and fall back to f32 on a bad value: say so.
  const char* env = std::getenv("CHORUS_ACTIVATIONS");
  if (f.activations.empty() && env && !kernels::parse_activation_precision(env))
    std::fprintf(stderr, "chorus: CHORUS_ACTIVATIONS=%s is unknown (f32 or int8); using f32\n",
                 models::printable(env).c_str());
  if (f.threads > 0) omp_set_num_threads(f.threads);
  if (!f.kernel_path.empty()) {
    const auto path = kernels::parse_kernel_path(f.kernel_path);
    if (!path || !kernels::set_kernel_path(*path))
      throw Error(ErrorCode::kUnsupported, fmt::format("--kernel-path {}: this CPU cannot run it", f.kernel_path));
  }
  if (!f.activations.empty()) kernels::set_activation_precision(*kernels::parse_activation_precision(f.activations));
}

}  // namespace chorus::cli
