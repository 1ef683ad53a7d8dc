// What an observer costs the forward pass: greedy decode on a real model
// (CHORUS_BENCH_MODEL, default .models/SmolLM2-135M-Instruct.Q4_1.gguf) with
// no observer, with one that selects nothing, with one that is active but sees
// nothing (every site enters the dispatcher; no row is selected), and with one
// copying every layer's attention probabilities.
//   OMP_NUM_THREADS=1 bench_observer --benchmark_repetitions=5 --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "chorus/observer.h"
#include "runtime/engine.h"
#include "runtime/loaded_model.h"

namespace {

using namespace chorus::runtime;

constexpr int32_t kGenTokens = 64;

LoadedModel* model() {
  static std::unique_ptr<LoadedModel> m = [] {
    const char* env = std::getenv("CHORUS_BENCH_MODEL");
    const std::string path = env ? env : std::string(CHORUS_SOURCE_DIR) + "/.models/SmolLM2-135M-Instruct.Q4_1.gguf";
    return std::filesystem::exists(path) ? std::make_unique<LoadedModel>(load_model(path)) : nullptr;
  }();
  return m.get();
}

std::shared_ptr<const chorus::Observer> observer(int variant) {
  if (variant == 0) return nullptr;
  auto o = std::make_shared<chorus::Observer>();
  o->on_activation = [](const chorus::ActivationView& v) {
    benchmark::DoNotOptimize(v.data);
    return true;
  };
  if (variant == 2) o->select = {{"logits"}, {}, {-1}};  // active, but no row is at position -1
  if (variant == 3) o->select.names = {"attn.probs"};
  return o;
}

void BM_Decode(benchmark::State& state) {
  LoadedModel* m = model();
  if (!m) return state.SkipWithError("model absent (set CHORUS_BENCH_MODEL)");
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  const std::vector<int32_t> prompt = m->tokenizer->encode("The history of the old city by the river begins", true);
  int64_t generated = 0;
  for (auto _ : state) {
    state.PauseTiming();
    EngineOptions o;
    o.max_context = static_cast<int32_t>(prompt.size()) + kGenTokens;
    Engine e(m->file.config, *m->tokenizer, o);
    Request r{prompt, kGenTokens, greedy, {}};
    r.observer = observer(static_cast<int>(state.range(0)));
    const RequestId id = e.submit(std::move(r));
    e.step(m->weights);  // the prefill, untimed
    state.ResumeTiming();
    e.run_until_idle(m->weights);
    generated += static_cast<int64_t>(e.result(id).tokens.size()) - 1;
  }
  state.counters["decode_tok_s"] = benchmark::Counter(static_cast<double>(generated), benchmark::Counter::kIsRate);
}

// Process CPU time (all threads): on a machine shared with other work it varies far less than wall time.
BENCHMARK(BM_Decode)->ArgName("observer")->Arg(0)->Arg(1)->Arg(2)->Arg(3)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
