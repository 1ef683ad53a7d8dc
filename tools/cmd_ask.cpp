// chorus ask: answers a question with a composition of experts — a plan (from
// --plan, or the rule-based decomposer), routed nodes, the batched wave
// executor over the weight store — and shows the answer, the plan, the
// per-node outputs, timings, tier moves and router decisions.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "chorus/router.h"
#include "graph/decomposer.h"
#include "graph/engine_backend.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/planner.h"
#include "graph/registry_routing.h"
#include "graph/trace.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "runtime/expert_registry.h"
#include "runtime/weight_store.h"
#include "tools/commands.h"
#include "tools/path_flags.h"
#include "tools/number_flags.h"
#include "tools/fixture_path.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

constexpr const char* kDefaultQuestion =
    "Write a Python function that reverses a list, and what is the capital of France?";

struct AskArgs {
  std::string question = kDefaultQuestion;
  std::string experts, router, plan, trace, planner, on_failure = "marker";
  int max_running = 8;
  int max_context = 512;
  bool json = false, verbose = false;
  RuntimeFlags runtime;
};

// The bundled files sit beside the build folder: <repo>/build/chorus reads
// <repo>/configs/default.json and <build>/default_router.bin (built by configs/CMakeLists.txt).
std::string default_experts() {
  for (const auto& p : {executable_dir() / "../configs/default.json", std::filesystem::path("configs/default.json")})
    if (std::filesystem::exists(p)) return p.lexically_normal().string();
  throw Error(ErrorCode::kNotFound, "no configs/default.json beside the build folder or here: pass --experts FILE");
}

std::optional<Router> load_router(const std::string& flag) {
  if (!flag.empty()) return Router::load(flag);
  const auto built = executable_dir() / "default_router.bin";
  if (std::filesystem::exists(built)) return Router::load(built.string());
  return std::nullopt;  // nodes that need routing by text will fail and say so
}

// --planner, or the config's planner expert when it names one, else the rules.
std::string planner_kind(const AskArgs& a, const runtime::ExpertRegistry& registry) {
  if (a.planner.empty()) return registry.planner_expert.empty() ? "rules" : "model";
  if (a.planner == "model" && registry.planner_expert.empty())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("--planner model: {} names no planner expert (add \"planner\": \"NAME\")", registry.path));
  return a.planner;
}

nlohmann::json to_json(const graph::PlannerOutcome& p) {
  return {{"source", p.source}, {"expert", p.expert}, {"output", p.model_output}, {"fallback_reason", p.fallback_reason},
          {"seconds", p.seconds}, {"generated_tokens", p.generated_tokens}};
}

void print_planner(const graph::PlannerOutcome& p) {
  std::printf("planner %s: %d tokens in %.2f s%s\n", p.expert.c_str(), p.generated_tokens, p.seconds,
              p.source == "model" ? "" : fmt::format("; plan rejected, rules used: {}", p.fallback_reason).c_str());
}

void print_text(const graph::Plan& plan, const graph::CompositionResult& r, bool verbose) {
  if (verbose) {
    std::printf("plan (%zu nodes, %zu waves):\n", plan.nodes.size(), r.waves.size());
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const graph::NodeResult& n = r.nodes[i];
      std::string route;
      if (n.route) route = fmt::format(" [router: category {} p={:.2f}{}]", n.route->category, n.route->confidence,
                                       n.route->fallback ? ", fallback" : "");
      // Ids, experts and categories come from the plan, config and router files: escaped.
      const std::string header = fmt::format("- {} (wave {}, expert {}){} deps=[{}]: {}", n.id, n.wave,
                                             n.expert.empty() ? "-" : n.expert, route,
                                             fmt::join(plan.nodes[i].deps, ","), graph::node_status_name(n.status));
      std::printf("%s\n", models::printable(header).c_str());
      // A join's output is its rendered prompt, and the last node's is the answer: each text once.
      const bool join = plan.nodes[i].expert == graph::kJoinExpert && n.status == graph::NodeStatus::kDone;
      const bool last = i + 1 == plan.nodes.size();
      if (join && last) {
        std::printf("  output: the answer below\n");
        continue;
      }
      if (!join) std::printf("  prompt: %s\n", n.prompt.c_str());
      if (n.status != graph::NodeStatus::kDone) std::printf("  error: %s\n", n.error.c_str());
      else if (last) std::printf("  output: the answer below\n");
      else std::printf("  output: %s\n", n.output.c_str());
    }
    std::printf("\nanswer:\n");
  }
  std::printf("%s\n", r.answer.c_str());
}

}  // namespace

void register_ask(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<AskArgs>();
  auto* cmd = app.add_subcommand("ask", "Answer a question with a composition of experts (plan → routed, batched waves)");
  cmd->add_option("question", a->question, "The question (default: a bundled two-domain question)");
  cmd->add_option("--experts", a->experts,
                  "Experts config: models, categories, store budgets (default: configs/default.json)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--router", a->router, "Router file from train-router (default: the build's default_router.bin)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--plan", a->plan, "Plan file (JSON); default: the rule-based decomposer")->check(CLI::ExistingFile);
  cmd->add_option("--trace", a->trace, "Write a Chrome/Perfetto trace JSON here")->check(output_file());
  cmd->add_option("--planner", a->planner,
                  "Without --plan: model (the config's planner expert writes the plan under the plan grammar; the "
                  "rules when its plan is invalid), rules (decompose) or trivial (one routed node). Default: model "
                  "when the config names a planner, else rules")
      ->check(CLI::IsMember({"model", "rules", "trivial"}));
  cmd->add_option("--on-failure", a->on_failure, "Dependants of a failed node: marker (run with \"[node ID failed: why]\" for its output) or skip")
      ->capture_default_str()->check(CLI::IsMember({"skip", "marker"}));
  cmd->add_option("--max-running", a->max_running, "Sequences batched at once per expert")->capture_default_str()
      ->check(integer_in(1, 256));
  cmd->add_option("--max-context", a->max_context, "Positions per sequence")->capture_default_str()
      ->check(integer_in(16, 32768));
  cmd->add_flag("--json", a->json, "JSON output: plan, node outputs, timings, tier moves, router decisions");
  cmd->add_flag("--verbose", a->verbose, "Also print the plan and each node's expert and output");
  add_runtime_flags(cmd, a->runtime);
  cmd->callback([a, &exit_code] {
    const kernels::KernelConfig kernel_config = apply_runtime_flags(a->runtime);
    runtime::ExpertRegistry registry =
        runtime::load_expert_registry(a->experts.empty() ? default_experts() : a->experts);
    override_experts(a->runtime, registry);
    const graph::PlanVocabulary vocabulary = graph::plan_vocabulary(registry);
    const std::string planner = a->plan.empty() ? planner_kind(*a, registry) : "file";
    const std::optional<Router> router = load_router(a->router);

    runtime::WeightStore store(registry);
    runtime::EngineOptions engine;
    engine.max_running = a->max_running;
    engine.max_context = a->max_context;
    engine.kernels = kernel_config;
    graph::EngineBackend backend(registry, store, engine);
    std::optional<graph::PlannerOutcome> planned;
    if (planner == "model") planned = graph::plan_with_expert(a->question, registry.planner_expert, backend, vocabulary);
    const graph::Plan plan = planned              ? planned->plan
                             : planner == "file"  ? graph::load_plan(a->plan, vocabulary)
                             : planner == "rules" ? graph::decompose(a->question)
                                                  : graph::trivial_plan();
    graph::validate_plan(plan, vocabulary);
    graph::ExecutorOptions options;
    options.on_failure = a->on_failure == "marker" ? graph::FailurePolicy::kMarker : graph::FailurePolicy::kSkipDependants;
    const graph::CompositionResult result =
        graph::execute_plan(plan, a->question, backend, graph::make_resolver(registry, router ? &*router : nullptr), options);

    if (!a->trace.empty()) graph::write_chrome_trace(result.trace, a->trace);
    if (a->json) {
      nlohmann::json j = graph::to_json(result);
      j["question"] = a->question;
      j["plan"] = graph::to_json(plan);
      j["planner"] = planned ? to_json(*planned) : nlohmann::json{{"source", planner}};
      std::printf("%s\n", models::json_text(j, 2).c_str());
    } else {
      if (a->verbose && planned) print_planner(*planned);
      print_text(plan, result, a->verbose);
    }
    // An answer resting on a refused or failed node is not an answer: say which node and why.
    if (!result.ok) {
      std::fprintf(stderr, "chorus: ask: the answer is incomplete: %zu node(s) it depends on did not finish:\n",
                   result.failures.size());
      for (const std::string& f : result.failures) std::fprintf(stderr, "  %s\n", models::printable(f).c_str());
    }
    exit_code = result.ok ? 0 : 2;
  });
}

}  // namespace chorus::cli
