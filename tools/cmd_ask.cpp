// chorus ask: answers a question with a composition of experts — a plan (from
// --plan, or the rule-based decomposer), routed nodes, the batched wave
// executor over the weight store — and shows the answer, the plan, the
// per-node outputs, timings, tier moves and router decisions.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "chorus/composer.h"
#include "chorus/error.h"
#include "models/utf8.h"
#include "tools/commands.h"
#include "tools/fixture_path.h"
#include "tools/number_flags.h"
#include "tools/path_flags.h"
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
  for (const auto& p : {executable_dir() / "../configs/default.json", executable_dir() / "../share/chorus/configs/default.json",
                        std::filesystem::path("configs/default.json")})
    if (std::filesystem::exists(p)) return p.lexically_normal().string();
  throw Error(ErrorCode::kNotFound, "no configs/default.json beside the build folder or here: pass --experts FILE");
}

void print_planner(const PlannerReport& p) {
  std::printf("planner %s: %d tokens in %.2f s%s\n", p.expert.c_str(), p.generated_tokens, p.seconds,
              p.source == "model" ? "" : fmt::format("; plan rejected, rules used: {}", p.fallback_reason).c_str());
}

void print_text(const AskResult& r, bool verbose) {
  if (verbose) {
    int waves = 0;
    for (const NodeOutcome& n : r.nodes) waves = std::max(waves, n.wave + 1);
    std::printf("plan (%zu nodes, %d waves):\n", r.nodes.size(), waves);
    for (size_t i = 0; i < r.nodes.size(); ++i) {
      const NodeOutcome& n = r.nodes[i];
      std::string route;
      if (!n.route_category.empty())
        route = fmt::format(" [router: category {} p={:.2f}{}]", n.route_category, n.route_confidence,
                            n.route_fallback ? ", fallback" : "");
      // Ids, experts and categories come from the plan, config and router files: escaped.
      const std::string header = fmt::format("- {} (wave {}, expert {}){} deps=[{}]: {}", n.id, n.wave,
                                             n.expert.empty() ? "-" : n.expert, route, fmt::join(n.deps, ","), n.status);
      std::printf("%s\n", models::printable(header).c_str());
      // A join's output is its rendered prompt, and the last node's is the answer: each text once.
      const bool join = n.expert == "join" && n.status == "done";
      const bool last = i + 1 == r.nodes.size();
      if (join && last) {
        std::printf("  output: the answer below\n");
        continue;
      }
      if (!join) std::printf("  prompt: %s\n", n.prompt.c_str());
      if (n.status != "done") std::printf("  error: %s\n", n.error.c_str());
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
    ComposerOptions options;
    options.router = router_path(a->router);
    options.threads = a->runtime.threads;
    options.kernel_path = a->runtime.kernel_path;
    options.activations = a->runtime.activations;
    options.dtype = a->runtime.dtype;
    options.max_running = a->max_running;
    options.max_context = a->max_context;
    Composer composer = Composer::open(a->experts.empty() ? default_experts() : a->experts, options);
    AskParams params;
    params.planner = a->planner;
    params.plan_path = a->plan;
    params.skip_failed_dependants = a->on_failure == "skip";
    params.trace_path = a->trace;
    const AskResult result = composer.ask(a->question, params);
    if (a->json) {
      std::printf("%s\n", result.json.c_str());
    } else {
      if (a->verbose && result.planner.source != "file" && !result.planner.expert.empty()) print_planner(result.planner);
      print_text(result, a->verbose);
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
