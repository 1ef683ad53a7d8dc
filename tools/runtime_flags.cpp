#include "tools/runtime_flags.h"

#include <omp.h>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/cpu_features.h"
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
                  "How activations meet quantized weights: f32 (exact, default), int16 (16-bit integer dot "
                  "products: logits within 5e-4 of the largest, faster) or int8 (fastest, coarser; env CHORUS_ACTIVATIONS)")
      ->check(CLI::IsMember({"f32", "int16", "int8"}));
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

void override_experts(const RuntimeFlags& f, runtime::ExpertRegistry& registry) {
  const auto dtype = load_dtype(f);
  const auto activations = kernels::parse_activation_precision(f.activations);
  for (runtime::ExpertSpec& e : registry.experts) {
    if (dtype) e.dtype = dtype;
    if (activations) e.activations = activations;
  }
}

kernels::KernelConfig apply_runtime_flags(const RuntimeFlags& f) {
  if (f.threads > 0) omp_set_num_threads(f.threads);
  kernels::KernelConfig config = kernels::default_kernel_config();
  if (!f.kernel_path.empty()) {
    const auto path = kernels::parse_kernel_path(f.kernel_path);
    if (!path || !kernels::kernel_path_available(*path))
      throw Error(ErrorCode::kUnsupported, fmt::format("--kernel-path {}: this CPU cannot run it", f.kernel_path));
    config.path = *path;
  }
  if (const auto activations = kernels::parse_activation_precision(f.activations)) config.activations = *activations;
  return config;
}

}  // namespace chorus::cli
