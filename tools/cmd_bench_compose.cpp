// chorus bench compose: the same plan run (a) one node at a time, with no
// batching and no prefetch, and (b) by the wave executor; each from a cold
// store and with the experts' files out of the OS page cache, so that both
// read the disk alike. Reports both latencies, the speedup and whether the
// outputs match.
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/router.h"
#include "graph/engine_backend.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry_routing.h"
#include "graph/trace.h"
#include "runtime/expert_registry.h"
#include "runtime/tier_moves.h"
#include "runtime/weight_store.h"
#include "tools/commands.h"
#include "tools/machine_info.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

struct BenchComposeArgs {
  std::string plan, experts, router, trace;
  std::string question = "Tell me about a day at the sea.";
  int max_running = 8, max_context = 512;
  bool json = false;
  RuntimeFlags runtime;
};

graph::CompositionResult run_mode(const BenchComposeArgs& a, const runtime::ExpertRegistry& registry,
                                  const graph::Plan& plan, const Router* router, bool sequential) {
  // Every mode starts with all experts on disk, and really there: a file the
  // other mode left in the page cache would make its first load a memcpy.
  for (const runtime::ExpertSpec& e : registry.experts) runtime::drop_page_cache(e.model_path);
  runtime::WeightStore store(registry);
  runtime::EngineOptions engine;
  engine.max_running = a.max_running;
  engine.max_context = a.max_context;
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

int run_bench_compose(const BenchComposeArgs& a) {
  apply_runtime_flags(a.runtime);
  const runtime::ExpertRegistry registry = runtime::load_expert_registry(a.experts);
  const graph::PlanVocabulary vocabulary = graph::plan_vocabulary(registry);
  const graph::Plan plan = graph::load_plan(a.plan, vocabulary);
  graph::validate_plan(plan, vocabulary);
  std::optional<Router> router;
  if (!a.router.empty()) router = Router::load(a.router);

  const graph::CompositionResult seq = run_mode(a, registry, plan, router ? &*router : nullptr, true);
  const graph::CompositionResult exe = run_mode(a, registry, plan, router ? &*router : nullptr, false);
  if (!a.trace.empty()) {
    graph::write_chrome_trace(seq.trace, trace_path(a.trace, "sequential"));
    graph::write_chrome_trace(exe.trace, trace_path(a.trace, "executor"));
  }
  bool identical = seq.ok && exe.ok && seq.nodes.size() == exe.nodes.size();
  for (size_t i = 0; identical && i < seq.nodes.size(); ++i) identical = seq.nodes[i].output == exe.nodes[i].output;

  const nlohmann::json j = {{"plan", a.plan},
                            {"experts", a.experts},
                            {"nodes", plan.nodes.size()},
                            {"waves", exe.waves.size()},
                            {"sequential_s", seq.seconds},
                            {"executor_s", exe.seconds},
                            {"speedup", seq.seconds / exe.seconds},
                            {"outputs_identical", identical},
                            {"sequential_ok", seq.ok},
                            {"executor_ok", exe.ok},
                            {"sequential", mode_detail(seq)},
                            {"executor", mode_detail(exe)},
                            {"machine", machine_info()}};
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    fmt::print("{} nodes in {} waves: sequential {:.3f} s, executor {:.3f} s, speedup {:.2f}x, outputs {}\n",
               plan.nodes.size(), exe.waves.size(), seq.seconds, exe.seconds, seq.seconds / exe.seconds,
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
  cmd->add_option("--max-running", a->max_running, "Sequences batched at once per expert")->check(CLI::Range(1, 256));
  cmd->add_option("--max-context", a->max_context, "Positions per sequence")->check(CLI::Range(16, 32768));
  cmd->add_option("--trace", a->trace,
                  "Write each mode's Chrome/Perfetto trace: FILE.json → FILE.sequential.json and FILE.executor.json");
  cmd->add_flag("--json", a->json, "Print one JSON object (sequential_s, executor_s, speedup, outputs_identical)");
  add_runtime_flags(cmd, a->runtime);
  cmd->callback([a, &exit_code] { exit_code = run_bench_compose(*a); });
}

}  // namespace chorus::cli
