// chorus bench compose: the same plan run (a) one node at a time, with no
// batching and no prefetch, and (b) by the wave executor; each from a cold
// store and with the experts' files out of the OS page cache, so that both
// read the disk alike. Reports both latencies, the speedup and whether the
// outputs match; with --repeat, the median of several pairs whose order
// alternates (on a shared machine one pair says little).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/router.h"
#include "graph/engine_backend.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry_routing.h"
#include "graph/trace.h"
#include "kernels/kernel_config.h"
#include "models/json_text.h"
#include "runtime/expert_registry.h"
#include "runtime/tier_moves.h"
#include "runtime/weight_store.h"
#include "tools/commands.h"
#include "tools/path_flags.h"
#include "tools/number_flags.h"
#include "tools/machine_info.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

struct BenchComposeArgs {
  std::string plan, experts, router, trace;
  std::string question = "Tell me about a day at the sea.";
  int max_running = 8, max_context = 512;
  int repeat = 1;
  bool json = false;
  RuntimeFlags runtime;
};

graph::CompositionResult run_mode(const BenchComposeArgs& a, const kernels::KernelConfig& kernel_config,
                                  const runtime::ExpertRegistry& registry, const graph::Plan& plan,
                                  const Router* router, bool sequential) {
  // Every mode starts with all experts on disk, and really there: a file the
  // other mode left in the page cache would make its first load a memcpy.
  for (const runtime::ExpertSpec& e : registry.experts) runtime::drop_page_cache(e.model_path);
  runtime::WeightStore store(registry);
  runtime::EngineOptions engine;
  engine.max_running = a.max_running;
  engine.max_context = a.max_context;
  engine.kernels = kernel_config;
  graph::EngineBackend backend(registry, store, engine);
  graph::ExecutorOptions options;
  options.sequential = sequential;
  return graph::execute_plan(plan, a.question, backend, graph::make_resolver(registry, router), options);
}

// FILE.json → FILE.MODE.json; a name without .json gets .MODE.json appended.
std::string trace_path(const std::string& path, const char* mode) {
  const bool json_suffix = path.size() > 5 && path.ends_with(".json");
  return fmt::format("{}.{}.json", json_suffix ? path.substr(0, path.size() - 5) : path, mode);
}

// Where a mode's time went: each node's batch timings and the tier moves.
nlohmann::json mode_detail(const graph::CompositionResult& r) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const graph::NodeResult& n : r.nodes)
    nodes.push_back({{"id", n.id},
                     {"expert", n.expert},
                     {"prefill_s", n.run.prefill_seconds},
                     {"decode_s", n.run.decode_seconds},
                     {"prompt_tokens", n.run.prompt_tokens},
                     {"reused_prompt_tokens", n.run.reused_prompt_tokens},
                     {"generated_tokens", n.run.generated_tokens}});
  double move_seconds = 0;
  for (const runtime::MoveRecord& m : r.moves) move_seconds += m.seconds;
  return {{"seconds", r.seconds}, {"waves", r.waves.size()}, {"tier_move_seconds", move_seconds}, {"nodes", nodes}};
}

// One pair of runs. The mode that runs second may find the disk warmer
// (caches below the OS's), so repeated pairs alternate which goes first.
struct ComposePair {
  graph::CompositionResult seq, exe;
  bool sequential_first = true;
  double speedup() const { return seq.seconds / exe.seconds; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int run_bench_compose(const BenchComposeArgs& a) {
  const kernels::KernelConfig kernel_config = apply_runtime_flags(a.runtime);
  runtime::ExpertRegistry registry = runtime::load_expert_registry(a.experts);
  override_experts(a.runtime, registry);
  const graph::PlanVocabulary vocabulary = graph::plan_vocabulary(registry);
  const graph::Plan plan = graph::load_plan(a.plan, vocabulary);
  graph::validate_plan(plan, vocabulary);
  std::optional<Router> router;
  if (!a.router.empty()) router = Router::load(a.router);
  const Router* r = router ? &*router : nullptr;

  std::vector<ComposePair> pairs(static_cast<size_t>(a.repeat));
  for (size_t k = 0; k < pairs.size(); ++k) {
    ComposePair& p = pairs[k];
    p.sequential_first = k % 2 == 0;
    if (p.sequential_first) p.seq = run_mode(a, kernel_config, registry, plan, r, true);
    p.exe = run_mode(a, kernel_config, registry, plan, r, false);
    if (!p.sequential_first) p.seq = run_mode(a, kernel_config, registry, plan, r, true);
  }
  // Every run of either mode must give the first sequential run's outputs.
  const graph::CompositionResult& reference = pairs[0].seq;
  bool identical = true;
  for (const ComposePair& p : pairs)
    for (const graph::CompositionResult* m : {&p.seq, &p.exe}) {
      identical = identical && m->ok && m->nodes.size() == reference.nodes.size();
      for (size_t i = 0; identical && i < m->nodes.size(); ++i)
        identical = m->nodes[i].output == reference.nodes[i].output;
    }
  // The pair whose speedup is the median (the lower middle one for an even
  // count) gives the per-node detail and the trace.
  std::vector<size_t> by_speedup(pairs.size());
  for (size_t k = 0; k < pairs.size(); ++k) by_speedup[k] = k;
  std::sort(by_speedup.begin(), by_speedup.end(),
            [&](size_t x, size_t y) { return pairs[x].speedup() < pairs[y].speedup(); });
  const ComposePair& mid = pairs[by_speedup[(pairs.size() - 1) / 2]];
  if (!a.trace.empty()) {
    graph::write_chrome_trace(mid.seq.trace, trace_path(a.trace, "sequential"));
    graph::write_chrome_trace(mid.exe.trace, trace_path(a.trace, "executor"));
  }
  std::vector<double> seq_s, exe_s, speedups;
  nlohmann::json runs = nlohmann::json::array();
  for (const ComposePair& p : pairs) {
    seq_s.push_back(p.seq.seconds);
    exe_s.push_back(p.exe.seconds);
    speedups.push_back(p.speedup());
    runs.push_back({{"sequential_s", p.seq.seconds},
                    {"executor_s", p.exe.seconds},
                    {"speedup", p.speedup()},
                    {"first", p.sequential_first ? "sequential" : "executor"}});
  }
  const double speedup = median(speedups);
  const nlohmann::json j = {{"plan", a.plan},
                            {"experts", a.experts},
                            {"nodes", plan.nodes.size()},
                            {"waves", mid.exe.waves.size()},
                            {"repeat", a.repeat},
                            {"sequential_s", median(seq_s)},
                            {"executor_s", median(exe_s)},
                            {"speedup", speedup},
                            {"speedup_min", *std::min_element(speedups.begin(), speedups.end())},
                            {"speedup_max", *std::max_element(speedups.begin(), speedups.end())},
                            {"outputs_identical", identical},
                            {"sequential_ok", mid.seq.ok},
                            {"executor_ok", mid.exe.ok},
                            {"runs", runs},
                            {"sequential", mode_detail(mid.seq)},
                            {"executor", mode_detail(mid.exe)},
                            {"kernel_path", kernels::kernel_path_name(kernel_config.path)},
                            {"activations", kernels::activation_precision_name(kernel_config.activations)},
                            {"machine", machine_info()}};
  if (a.json) {
    std::printf("%s\n", models::json_text(j, 2).c_str());
  } else {
    for (const ComposePair& p : pairs)
      fmt::print("{} first: sequential {:.3f} s, executor {:.3f} s, speedup {:.2f}x\n",
                 p.sequential_first ? "sequential" : "executor", p.seq.seconds, p.exe.seconds, p.speedup());
    fmt::print("{} nodes in {} waves: sequential {:.3f} s, executor {:.3f} s, speedup {:.2f}x{}, outputs {}\n",
               plan.nodes.size(), mid.exe.waves.size(), median(seq_s), median(exe_s), speedup,
               pairs.size() > 1 ? fmt::format(" (median of {} pairs)", pairs.size()) : "",
               identical ? "identical" : "DIFFER");
  }
  return identical ? 0 : 2;
}

}  // namespace

void register_bench_compose(CLI::App& bench, int& exit_code) {
  auto a = std::make_shared<BenchComposeArgs>();
  auto* cmd = bench.add_subcommand("compose", "A plan run node by node (no batching, no prefetch) vs by the wave executor");
  cmd->add_option("--plan", a->plan, "Plan file (JSON)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--experts", a->experts, "Experts config")->required()->check(CLI::ExistingFile);
  cmd->add_option("--router", a->router, "Router file, for plan nodes that name neither an expert nor a category")
      ->check(CLI::ExistingFile);
  cmd->add_option("--question", a->question, "The {{question}} of the plan")->capture_default_str();
  cmd->add_option("--max-running", a->max_running, "Sequences batched at once per expert")->capture_default_str()
      ->check(integer_in(1, 256));
  cmd->add_option("--max-context", a->max_context, "Positions per sequence")->capture_default_str()
      ->check(integer_in(16, 32768));
  cmd->add_option("--trace", a->trace,
                  "Write each mode's Chrome/Perfetto trace: FILE.json → FILE.sequential.json and FILE.executor.json")
      ->check(output_file());
  cmd->add_option("--repeat", a->repeat,
                  "Pairs of runs, alternating which mode goes first; the times and speedup reported are medians")
      ->capture_default_str()
      ->check(integer_in(1, 100));
  cmd->add_flag("--json", a->json, "Print one JSON object (sequential_s, executor_s, speedup, outputs_identical)");
  add_runtime_flags(cmd, a->runtime);
  cmd->callback([a, &exit_code] { exit_code = run_bench_compose(*a); });
}

}  // namespace chorus::cli
