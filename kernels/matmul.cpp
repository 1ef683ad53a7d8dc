// matmul: picks the kernel of the dispatch path, quantizes the activations
// when the kernel wants int8, and splits the output rows over the OpenMP
// threads. Every weight type goes through the row kernels, whatever the token
// count: a token's sums then run in one order in every batch (no sgemm for
// many tokens, whose order differs from the row kernels': docs/kernels.md).
#include "kernels/matmul.h"

#include <algorithm>
#include <array>
#include <vector>

#include <omp.h>

#include "kernels/cpu_features.h"
#include "kernels/matmul_paths.h"
#include "kernels/row_runs.h"

namespace chorus::kernels {

namespace {

// Below this many multiply-adds a call runs on one thread: waking the team
// costs more than it saves.
constexpr int64_t kParallelMinWork = 1 << 15;
// Up to this many tokens (batched decode) are quantized before the team
// starts: microseconds, where splitting them costs a barrier, and a barrier
// costs a futex call or a wake-up on a VM.
constexpr int64_t kSerialQuantizeMaxTokens = 4;

// The path's kernel, or the next path down's when the path has none for the type.
MatmulRowsFn rows_fn(KernelPath path, GgmlType type, ActivationPrecision activations) {
  MatmulRowsFn fn = nullptr;
  if (path == KernelPath::kAvx512) fn = matmul_rows_avx512(type, activations);
  if (!fn && path != KernelPath::kScalar) fn = matmul_rows_avx2(type, activations);
  if (!fn) fn = matmul_rows_scalar(type, activations);
  return fn;
}

}  // namespace

bool matmul_supports(GgmlType type) { return matmul_rows_scalar(type, ActivationPrecision::kF32) != nullptr; }

void matmul(const KernelConfig& config, const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
  const MatmulOutput out{&w, y};
  matmul_shared_input(config, {&out, 1}, x, n_tokens);
}

void matmul_shared_input(const KernelConfig& config, std::span<const MatmulOutput> outs, const float* x,
                         int64_t n_tokens) {
  constexpr size_t kMaxOutputs = 8;
  if (outs.empty()) return;
  if (outs.size() > kMaxOutputs) {
    matmul_shared_input(config, outs.first(kMaxOutputs), x, n_tokens);
    matmul_shared_input(config, outs.subspan(kMaxOutputs), x, n_tokens);
    return;
  }
  const KernelPath path = config.path;
  const int64_t cols = outs[0].w->cols, nb = cols / 32;
  // The activations quantized once for every output that takes integer
  // blocks. Scratch of the calling thread (the team reaches it through these
  // references, not through the thread_local): filled by the team, then read.
  thread_local ActivationsQ8Buffer scratch8;
  thread_local ActivationsQ16Buffer scratch16;
  thread_local ActivationsQ8x8Buffer scratch8x8;
  thread_local ActivationsQ16x8Buffer scratch16x8;
  thread_local LaneOrderActivationsBuffer scratch_lanes;
  ActivationsQ8Buffer& xq8 = scratch8;
  ActivationsQ16Buffer& xq16 = scratch16;
  ActivationsQ8x8Buffer& xq8x8 = scratch8x8;
  ActivationsQ16x8Buffer& xq16x8 = scratch16x8;
  LaneOrderActivationsBuffer& x_lanes = scratch_lanes;
  const ActivationPrecision precision = config.activations;
  // Quantizes token t, or with f32 activations puts it in lane order.
  auto quantize_token = [&](int64_t t) {
    if (precision == ActivationPrecision::kInt8)
      quantize_activation_row(path, x + t * cols, cols, xq8, t * nb);
    else if (precision == ActivationPrecision::kInt16)
      quantize_activation_row(path, x + t * cols, cols, xq16, t * nb);
    else
      x_lanes.fill_token(x + t * cols, cols, t);
  };
  // The interleaved buffer of the precision's quants and what it interleaves.
  auto with_interleaved = [&](auto&& fn) {
    if (precision == ActivationPrecision::kInt8)
      fn(xq8x8, xq8);
    else
      fn(xq16x8, xq16);
  };
  // Some output reads the quantized (or lane-order) activations.
  bool quantized = false;
  // Groups of 8 tokens the integer kernels of some types take at once; when
  // some output's kernel does, interleaved once after quantizing.
  const int64_t n_groups = precision == ActivationPrecision::kF32 ? 0 : n_tokens / 8;
  bool grouped = false;
  // Each output's kernel and arguments.
  std::array<MatmulArgs, kMaxOutputs> args;
  std::array<MatmulRowsFn, kMaxOutputs> fns{};
  size_t n = 0;
  int64_t work = 0;
  for (const MatmulOutput& o : outs) {
    const WeightMatrix& w = *o.w;
    const bool reads_quantized = precision == ActivationPrecision::kF32 ? takes_lane_order_activations(path, w.type)
                                                                        : takes_integer_activations(w.type);
    if (reads_quantized && !quantized) {
      if (precision == ActivationPrecision::kInt8)
        xq8.resize(n_tokens * nb);
      else if (precision == ActivationPrecision::kInt16)
        xq16.resize(n_tokens * nb);
      else
        x_lanes.resize(n_tokens * nb);
    }
    quantized = quantized || reads_quantized;
    args[n] = MatmulArgs{w, x, {}, {}, n_tokens, o.y};
    if (reads_quantized && precision == ActivationPrecision::kInt8) args[n].xq = xq8.view();
    if (reads_quantized && precision == ActivationPrecision::kInt16) args[n].xq16 = xq16.view();
    if (reads_quantized && n_groups > 0 && takes_eight_token_groups(path, w.type, precision)) {
      with_interleaved([&](auto& x8, const auto&) {
        if (!grouped) x8.resize(n_groups, nb);
        args[n].set_interleaved(x8.view());
      });
      grouped = true;
    }
    if (reads_quantized && precision == ActivationPrecision::kF32) args[n].x_lanes = x_lanes.view();
    fns[n] = rows_fn(path, w.type, precision);
    work += w.rows * w.cols * n_tokens;
    ++n;
  }
  if (n == 0) return;
  if (quantized && n_tokens <= kSerialQuantizeMaxTokens)
    for (int64_t t = 0; t < n_tokens; ++t) quantize_token(t);
  const bool parallel = work >= kParallelMinWork;
  thread_local std::vector<RowRun> scratch_runs;
  std::vector<RowRun>& runs = scratch_runs;
  cut_into_runs(outs, n_tokens, parallel ? omp_get_max_threads() : 1, runs);
  const auto n_runs = static_cast<int64_t>(runs.size());
#pragma omp parallel if (parallel)
  {
    if (quantized && n_tokens > kSerialQuantizeMaxTokens) {
#pragma omp for schedule(static)
      for (int64_t t = 0; t < n_tokens; ++t) quantize_token(t);
      if (grouped) {
#pragma omp for schedule(static)
        for (int64_t g = 0; g < n_groups; ++g)
          with_interleaved([&](auto& x8, const auto& xq) { x8.interleave(xq.view(), nb, g); });
      }
    }
    // Runs (row_runs.h) handed out as threads free up: a thread that another process
    // slows down does not hold the others up at the end. No barrier of its
    // own: the region's end is one.
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t r = 0; r < n_runs; ++r) fns[runs[r].output](args[runs[r].output], runs[r].begin, runs[r].end);
  }
}

}  // namespace chorus::kernels
