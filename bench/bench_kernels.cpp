// Matmul kernels at decode (GB/s of weights) and prefill (GFLOP/s) shapes,
// beside OpenBLAS sgemv/sgemm on the same shapes and a streaming-read probe
// (the memory limit). The kernel path comes from CHORUS_KERNEL_PATH.
//   bench_kernels --benchmark_min_time=0.3
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernel_config.h"
#include "kernels/dequantize.h"
#include "kernels/gemm_f32.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"

namespace ck = chorus::kernels;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Weights of a shape, made once per process. Types chorus cannot quantize get
// random bytes with small f16 scales (speed does not depend on the values).
const std::vector<uint8_t>& weights(ck::GgmlType type, int64_t rows, int64_t cols) {
  static std::map<std::tuple<ck::GgmlType, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto [it, fresh] = cache.try_emplace({type, rows, cols});
  if (!fresh) return it->second;
  const size_t rb = ck::row_bytes(type, cols);
  std::vector<uint8_t>& w = it->second;
  w.resize(rb * rows);
  if (ck::can_quantize(type)) {
    const std::vector<float> row = random_floats(cols, 1);
    for (int64_t o = 0; o < rows; ++o) ck::quantize_row(type, row.data(), w.data() + o * rb, cols);
    return w;
  }
  std::mt19937 rng(2);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng() & 0x3F);  // keeps every f16 field small and finite
  return w;
}

void set_threads(benchmark::State& state, int arg_index) {
  const int threads = static_cast<int>(state.range(arg_index));
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

// The path the benchmarks run: the best this CPU has, or CHORUS_KERNEL_PATH's.
ck::KernelPath bench_path() { return ck::default_kernel_config().path; }

void report(benchmark::State& state, double bytes, double flops) {
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(ck::kernel_path_name(bench_path()));
}

// Args: rows, cols, n_tokens, threads. Quantized types run with int8, 16-bit or f32
// activations (ActivationPrecision).
void BM_Matmul(benchmark::State& state, ck::GgmlType type, ck::ActivationPrecision precision) {
  const int64_t rows = state.range(0), cols = state.range(1), n_tokens = state.range(2);
  set_threads(state, 3);
  const ck::KernelConfig config{bench_path(), precision};
  const std::vector<uint8_t>& w = weights(type, rows, cols);
  const ck::WeightMatrix m{type, rows, cols, w.data()};
  const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 3);
  std::vector<float> y(static_cast<size_t>(rows * n_tokens));
  for (auto _ : state) {
    ck::matmul(config, m, x.data(), n_tokens, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.size()), 2.0 * rows * cols * n_tokens);
}

// The matrices of one matmul_shared_input call (a forward pass's q/k/v, gate/up).
struct SweepMatrix {
  ck::GgmlType type;
  int64_t rows, cols;
};
using SweepStep = std::vector<SweepMatrix>;

// llama-110m in one type: 12 layers of q, k, v, o, gate, up, down (each its
// own call), then the 32000-row classifier: 117 MB in q8_0.
std::vector<SweepStep> llama110m_sweep(ck::GgmlType type) {
  constexpr int64_t kDim = 768, kHidden = 2048, kVocab = 32000, kLayers = 12;
  std::vector<SweepStep> steps;
  for (int l = 0; l < kLayers; ++l) {
    for (int i = 0; i < 4; ++i) steps.push_back({{type, kDim, kDim}});
    steps.push_back({{type, kHidden, kDim}}), steps.push_back({{type, kHidden, kDim}});
    steps.push_back({{type, kDim, kHidden}});
  }
  steps.push_back({{type, kVocab, kDim}});
  return steps;
}

// Qwen2.5-Coder-1.5B-Instruct Q4_K_M as the forward pass calls it: per layer
// q/k/v together, o, gate/up together, down; v and down in q6_K on the 14
// layers where the file has them so; the 151936-row q6_K classifier. 980 MB.
std::vector<SweepStep> qwen15b_q4_k_m_sweep() {
  constexpr int64_t kDim = 1536, kKv = 256, kHidden = 8960, kVocab = 151936;
  constexpr ck::GgmlType q4 = ck::GgmlType::Q4_K, q6 = ck::GgmlType::Q6_K;
  const std::vector<int> six_bit = {0, 1, 5, 6, 7, 8, 9, 10, 13, 16, 19, 21, 24, 27};
  std::vector<SweepStep> steps;
  for (int l = 0; l < 28; ++l) {
    const ck::GgmlType wide = std::find(six_bit.begin(), six_bit.end(), l) != six_bit.end() ? q6 : q4;
    steps.push_back({{q4, kDim, kDim}, {q4, kKv, kDim}, {wide, kKv, kDim}});
    steps.push_back({{q4, kDim, kDim}});
    steps.push_back({{q4, kHidden, kDim}, {q4, kHidden, kDim}});
    steps.push_back({{wide, kDim, kHidden}});
  }
  steps.push_back({{q6, kVocab, kDim}});
  return steps;
}

// SmolLM2-135M-Instruct Q4_1 as the forward pass calls it: 30 layers of
// q/k/v together, o, gate/up together, down, all q4_1 on 576-wide rows
// (360 bytes: 18 blocks), then the tied q8_0 classifier. 96 MB.
std::vector<SweepStep> smollm2_q4_1_sweep() {
  constexpr int64_t kDim = 576, kKv = 192, kHidden = 1536, kVocab = 49152;
  constexpr ck::GgmlType q4 = ck::GgmlType::Q4_1;
  std::vector<SweepStep> steps;
  for (int l = 0; l < 30; ++l) {
    steps.push_back({{q4, kDim, kDim}, {q4, kKv, kDim}, {q4, kKv, kDim}});
    steps.push_back({{q4, kDim, kDim}});
    steps.push_back({{q4, kHidden, kDim}, {q4, kHidden, kDim}});
    steps.push_back({{q4, kDim, kHidden}});
  }
  steps.push_back({{ck::GgmlType::Q8_0, kVocab, kDim}});
  return steps;
}

// One decode token through every matrix of a model, in the forward pass's
// calls: each matrix comes from DRAM as in a real forward pass, where the
// single-shape benchmarks above re-read a matrix that the L3 holds. Args: threads.
void BM_ModelSweep(benchmark::State& state, std::vector<SweepStep> steps, ck::ActivationPrecision precision) {
  set_threads(state, 0);
  const ck::KernelConfig config{bench_path(), precision};
  size_t total = 0, max_outputs = 0;
  int64_t max_cols = 0, max_rows = 0;
  for (const SweepStep& step : steps) {
    max_outputs = std::max(max_outputs, step.size());
    for (const SweepMatrix& m : step) {
      total += ck::row_bytes(m.type, m.cols) * m.rows;
      max_cols = std::max(max_cols, m.cols), max_rows = std::max(max_rows, m.rows);
    }
  }
  std::vector<uint8_t> w(total);
  const std::vector<float> x = random_floats(max_cols, 3);
  std::vector<std::vector<float>> y(max_outputs, std::vector<float>(max_rows));
  // Each step's matrices (laid end to end in w) and outputs, and its kind (shapes and types) with its bytes.
  struct Call {
    std::vector<ck::WeightMatrix> matrices;
    std::vector<ck::MatmulOutput> outs;
    std::string kind;
    double bytes = 0;
  };
  std::vector<Call> calls(steps.size());
  size_t offset = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    Call& c = calls[s];
    for (const SweepMatrix& m : steps[s]) {
      const std::vector<uint8_t>& one = weights(m.type, m.rows, m.cols);
      std::memcpy(w.data() + offset, one.data(), one.size());
      c.matrices.push_back({m.type, m.rows, m.cols, w.data() + offset});
      c.kind += (c.kind.empty() ? "" : "+") + fmt::format("{}_{}x{}", ck::type_name(m.type), m.rows, m.cols);
      c.bytes += static_cast<double>(one.size());
      offset += one.size();
    }
    for (size_t k = 0; k < c.matrices.size(); ++k) c.outs.push_back({&c.matrices[k], y[k].data()});
  }
  // Seconds and bytes per kind of call, reported as GB/s counters.
  std::map<std::string, std::pair<double, double>> kinds;
  for (auto _ : state) {
    for (const Call& c : calls) {
      const auto t0 = std::chrono::steady_clock::now();
      ck::matmul_shared_input(config, c.outs, x.data(), 1);
      auto& [seconds, bytes] = kinds[c.kind];
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), bytes += c.bytes;
    }
    benchmark::DoNotOptimize(y[0].data());
  }
  report(state, static_cast<double>(total), 0.0);
  for (const auto& [kind, sb] : kinds) state.counters[kind] = sb.second / sb.first * 1e-9;
}

void BM_OpenBlasSgemv(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  set_threads(state, 3);
  const std::vector<uint8_t>& w = weights(ck::GgmlType::F32, rows, cols);
  const std::vector<float> x = random_floats(cols, 3);
  std::vector<float> y(rows);
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(rows), static_cast<int>(cols), 1.0f,
                reinterpret_cast<const float*>(w.data()), static_cast<int>(cols), x.data(), 1, 0.0f, y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.size()), 2.0 * rows * cols);
}

void BM_OpenBlasSgemm(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), n_tokens = state.range(2);
  set_threads(state, 3);
  const std::vector<uint8_t>& w = weights(ck::GgmlType::F32, rows, cols);
  const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 3);
  std::vector<float> y(static_cast<size_t>(rows * n_tokens));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_tokens), static_cast<int>(rows),
                static_cast<int>(cols), 1.0f, x.data(), static_cast<int>(cols),
                reinterpret_cast<const float*>(w.data()), static_cast<int>(cols), 0.0f, y.data(),
                static_cast<int>(rows));
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.size()), 2.0 * rows * cols * n_tokens);
}

// chorus's own packed GEMM on the same shapes as BM_OpenBlasSgemm.
void BM_GemmF32(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), n_tokens = state.range(2);
  set_threads(state, 3);
  const std::vector<uint8_t>& w = weights(ck::GgmlType::F32, rows, cols);
  const std::vector<float> x = random_floats(static_cast<size_t>(cols * n_tokens), 3);
  std::vector<float> y(static_cast<size_t>(rows * n_tokens));
  for (auto _ : state) {
    ck::gemm_f32(bench_path(), x.data(), reinterpret_cast<const float*>(w.data()), n_tokens, rows, cols, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.size()), 2.0 * rows * cols * n_tokens);
}

// The streaming-read limit: sum 256 MiB of floats, split over the threads.
void BM_StreamRead(benchmark::State& state) {
  set_threads(state, 0);
  static const std::vector<float> data(64 << 20, 1.0f);
  const int64_t n = static_cast<int64_t>(data.size());
  for (auto _ : state) {
    float total = 0.0f;
#pragma omp parallel reduction(+ : total)
    {
      const int64_t per = n / omp_get_num_threads(), begin = per * omp_get_thread_num();
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t i = begin; i + 32 <= begin + per; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(&data[i]));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(&data[i + 8]));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(&data[i + 16]));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(&data[i + 24]));
      }
      float lanes[8];
      _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      for (float l : lanes) total += l;
    }
    benchmark::DoNotOptimize(total);
  }
  report(state, static_cast<double>(n) * 4, 0.0);
}

void decode_shapes(benchmark::internal::Benchmark* b) {
  // L2-resident (under 1 MiB in every quantized type): the kernel's compute rate alone.
  b->Args({256, 2048, 1, 1});
  for (int threads : {1, 2}) {
    b->Args({4096, 4096, 1, threads});
    b->Args({5632, 2048, 1, threads});
    // Larger than the 32 MiB L3 in every type: weights really stream from DRAM.
    b->Args({32768, 4096, 1, threads});
  }
}
// Batched decode of 2-4 sequences: one token each, the weights read once for
// all of them (L3-resident, so this shows the kernel's compute rate).
void batch_shapes(benchmark::internal::Benchmark* b) {
  for (int tokens : {2, 3, 4, 7, 8, 16}) b->Args({2048, 2048, tokens, 1});
  // A (batched) decode step as the 1.1B model sees it: 2048-wide rows from DRAM, both cores.
  for (int tokens : {1, 2, 3, 4, 8, 16}) b->Args({65536, 2048, tokens, 2});
}
void prefill_shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) b->Args({2048, 2048, 128, threads});
}
void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    for (int tokens : {16, 128}) b->Args({2048, 2048, tokens, threads});
    b->Args({5632, 2048, 128, threads});
  }
}

}  // namespace

BENCHMARK(BM_StreamRead)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_OpenBlasSgemv)->Apply(decode_shapes)->UseRealTime();
BENCHMARK(BM_OpenBlasSgemm)->Apply(gemm_shapes)->UseRealTime();
BENCHMARK(BM_GemmF32)->Apply(gemm_shapes)->UseRealTime();
#define CHORUS_BENCH(NAME, T, P)                                                                               \
  BENCHMARK_CAPTURE(BM_Matmul, NAME##_decode, ck::GgmlType::T, ck::ActivationPrecision::P)->Apply(decode_shapes) \
      ->UseRealTime();                                                                                           \
  BENCHMARK_CAPTURE(BM_Matmul, NAME##_batch, ck::GgmlType::T, ck::ActivationPrecision::P)->Apply(batch_shapes)   \
      ->UseRealTime();                                                                                           \
  BENCHMARK_CAPTURE(BM_Matmul, NAME##_prefill, ck::GgmlType::T, ck::ActivationPrecision::P)->Apply(prefill_shapes) \
      ->UseRealTime();
#define CHORUS_BENCH_QUANT(T) \
  CHORUS_BENCH(T##_int8, T, kInt8) CHORUS_BENCH(T##_int16, T, kInt16) CHORUS_BENCH(T##_f32act, T, kF32)
BENCHMARK_CAPTURE(BM_ModelSweep, Q8_0_int8, llama110m_sweep(ck::GgmlType::Q8_0), ck::ActivationPrecision::kInt8)
    ->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, Q8_0_int16, llama110m_sweep(ck::GgmlType::Q8_0), ck::ActivationPrecision::kInt16)
    ->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, Q8_0_f32act, llama110m_sweep(ck::GgmlType::Q8_0), ck::ActivationPrecision::kF32)
    ->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, SmolLM2_Q4_1_int16, smollm2_q4_1_sweep(), ck::ActivationPrecision::kInt16)
    ->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, SmolLM2_Q4_1_int8, smollm2_q4_1_sweep(), ck::ActivationPrecision::kInt8)
    ->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, Qwen15B_Q4_K_M_int16, qwen15b_q4_k_m_sweep(), ck::ActivationPrecision::kInt16)
    ->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelSweep, Qwen15B_Q4_K_M_int8, qwen15b_q4_k_m_sweep(), ck::ActivationPrecision::kInt8)
    ->Arg(2)->UseRealTime();
CHORUS_BENCH(F32, F32, kF32)
CHORUS_BENCH(F16, F16, kF32)
CHORUS_BENCH(BF16, BF16, kF32)
CHORUS_BENCH_QUANT(Q8_0)
CHORUS_BENCH_QUANT(Q4_0)
CHORUS_BENCH_QUANT(Q4_1)
CHORUS_BENCH_QUANT(Q5_0)
CHORUS_BENCH_QUANT(Q4_K)
CHORUS_BENCH_QUANT(Q5_K)
CHORUS_BENCH_QUANT(Q6_K)

BENCHMARK_MAIN();
