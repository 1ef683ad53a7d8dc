#include "api/model_options.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"
#include "runtime/expert_registry.h"

namespace chorus::api {

namespace {

constexpr int32_t kDefaultContextCap = 4096;
constexpr int64_t kDefaultKvCap = int64_t{1} << 30;

}  // namespace

int32_t max_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return 4 * static_cast<int32_t>(hw == 0 ? 1 : hw);
}

RuntimeSettings resolve_settings(int32_t threads, const std::string& kernel_path, const std::string& activations,
                                 const std::string& dtype) {
  RuntimeSettings s;
  if (threads < 0 || threads > max_threads())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("threads {} is out of range: 0 (all cores) to {}", threads, max_threads()));
  s.threads = threads;
  s.kernels = kernels::default_kernel_config();
  if (!kernel_path.empty()) {
    const auto path = kernels::parse_kernel_path(kernel_path);
    if (!path)
      throw Error(ErrorCode::kInvalidArgument, fmt::format("kernel_path '{}' is not one of avx512, avx2, scalar",
                                                           models::printable(kernel_path)));
    if (!kernels::kernel_path_available(*path))
      throw Error(ErrorCode::kUnsupported, fmt::format("kernel_path {}: this CPU cannot run it", kernel_path));
    s.kernels.path = *path;
  }
  if (!activations.empty()) {
    const auto precision = kernels::parse_activation_precision(activations);
    if (!precision)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("activations '{}' is not one of f32, int16, int8", models::printable(activations)));
    s.kernels.activations = *precision;
    s.activations_given = true;
  }
  if (!dtype.empty()) {
    s.dtype = runtime::resident_dtype_from_name(dtype);
    if (!s.dtype)
      throw Error(ErrorCode::kInvalidArgument, fmt::format("dtype '{}' is not one of f32, f16, bf16, q8_0, q4_0, q4_1",
                                                           models::printable(dtype)));
  }
  return s;
}

runtime::EngineOptions engine_options(const models::LlamaConfig& config, int32_t context, int32_t max_running,
                                      int64_t kv_budget_bytes) {
  if (context < 0) throw Error(ErrorCode::kInvalidArgument, fmt::format("context {} is negative", context));
  if (max_running < 1 || max_running > 4096)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("max_running {} is out of range: 1 to 4096", max_running));
  if (kv_budget_bytes < 0)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("kv_budget_bytes {} is negative", kv_budget_bytes));
  runtime::EngineOptions o;
  o.max_running = max_running;
  o.max_context = std::min(context > 0 ? context : kDefaultContextCap, config.context_length);
  const int64_t per_seq = (o.max_context + o.block_size - 1) / o.block_size;
  const int64_t block_bytes = int64_t{2} * config.n_layers * config.kv_dim() * o.block_size * int64_t{sizeof(float)};
  const int64_t wanted = per_seq * max_running;
  // The default pool holds every sequence at full length up to 1 GiB, and always one: past that, sequences
  // queue or are preempted (the pool is calloc'd, so only the blocks in use cost memory).
  const int64_t blocks = kv_budget_bytes > 0 ? std::min(wanted, kv_budget_bytes / block_bytes)
                                             : std::max(per_seq, std::min(wanted, kDefaultKvCap / block_bytes));
  if (blocks < per_seq)
    throw Error(ErrorCode::kResourceExhausted,
                fmt::format("kv_budget_bytes {} holds {} blocks of {} positions, but one sequence of {} positions "
                            "needs {} ({} bytes): raise kv_budget_bytes or lower context",
                            kv_budget_bytes, blocks, o.block_size, o.max_context, per_seq, per_seq * block_bytes));
  o.kv_blocks = static_cast<int32_t>(blocks);
  return o;
}

}  // namespace chorus::api
