// chorus route: routes one text (category → expert), or evaluates a router on
// a labelled file (accuracy, out-of-domain recall, GQR, latency, curve).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "chorus/router.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "router/datasets.h"
#include "router/evaluate.h"
#include "router/router_model.h"
#include "tools/commands.h"
#include "tools/path_flags.h"
#include "tools/number_flags.h"

namespace chorus::cli {

namespace {
struct RouteArgs {
  std::string router, experts, eval, format = "clinc", labels, domains, split, predictions;
  std::vector<std::string> texts;
  bool json = false;
  int curve = 21;
  int repeats = 3;
  std::optional<float> threshold;
};
}  // namespace

void register_route(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<RouteArgs>();
  auto* cmd = app.add_subcommand("route", "Route text to a category and expert, or evaluate a router (--eval)");
  cmd->add_option("--router", a->router, "Router file from train-router")->required()->check(CLI::ExistingFile);
  auto* text = cmd->add_option("--text", a->texts, "Text to route (repeatable)");
  // Not --experts: that name is `ask`'s experts config (models, budgets), a different file.
  cmd->add_option("--expert-map", a->experts, "Expert map JSON (category → expert, fallback, policy)")
      ->check(CLI::ExistingFile);
  auto* eval = cmd->add_option("--eval", a->eval, "Labelled file to evaluate on")->check(CLI::ExistingFile);
  cmd->add_option("--format", a->format, "Eval data layout: clinc|csv|jsonl")->capture_default_str()
      ->check(CLI::IsMember({"clinc", "csv", "jsonl"}));
  cmd->add_option("--labels", a->labels, "clinc: domain|intent")->check(CLI::IsMember({"domain", "intent"}));
  cmd->add_option("--domains", a->domains, "clinc: intent→domain map (default: domains.json beside --eval)");
  cmd->add_option("--split", a->split, "Split to evaluate (default: test if present, else val)");
  cmd->add_option("--curve", a->curve, "Points of the accuracy / OOD-recall curve in the eval JSON (0 = none)")
      ->capture_default_str()->check(integer_in(0, 100000));
  cmd->add_option("--threshold", a->threshold, "Override the router's calibrated guard threshold")
      ->check(real_in(-1e9, 1e9));
  cmd->add_option("--repeats", a->repeats, "Timing: runs per query, the fastest counts")->capture_default_str()
      ->check(integer_in(1, 100));
  cmd->add_option("--predictions", a->predictions, "Eval: write one JSON line per query (gold, predicted, score) here")
      ->check(output_file());
  cmd->add_flag("--json", a->json, "JSON output");
  text->excludes(eval);
  cmd->callback([a, &exit_code] {
    Router r = Router::load(a->router);
    if (a->threshold) {
      auto m = std::make_shared<router::RouterModel>(r.model());
      m->guard.threshold = *a->threshold;
      r = Router(std::move(m));
    }
    if (!a->eval.empty()) {
      const auto data = router::load_dataset(a->eval, a->format, router::parse_label_mode(a->labels), a->domains);
      const std::string split = a->split.empty() ? router::eval_split(data) : a->split;
      const auto& ex = data.split(split);
      if (ex.empty()) throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: split '{}' is empty", a->eval, split));
      if (!a->predictions.empty()) {
        std::FILE* f = std::fopen(a->predictions.c_str(), "w");
        if (!f) throw Error(ErrorCode::kIo, fmt::format("cannot open {} for writing", a->predictions));
        for (const auto& e : ex) {
          const auto p = r.model().predict(e.text);
          const nlohmann::json line = {{"text", e.text},
                                       {"gold", e.category},
                                       {"predicted", p.category >= 0 ? r.model().categories[p.category] : ""},
                                       {"score", p.score},
                                       {"out_of_domain", p.out_of_domain}};
          std::fprintf(f, "%s\n", models::json_text(line).c_str());
        }
        std::fclose(f);
      }
      const auto res = router::evaluate_router(r.model(), ex, true, a->repeats);
      nlohmann::json j = res.to_json(static_cast<size_t>(a->curve));
      j["split"] = split;
      j["guard_score"] = router::guard_score_name(r.model().guard.score);
      if (a->json) {
        std::printf("%s\n", models::json_text(j, 2).c_str());
      } else {
        std::printf("%s (%s): in-domain accuracy %.4f  ood recall %.4f  gqr %.4f  p50 %.4f ms  p99 %.4f ms  (%zu in, %zu ood)\n",
                    a->eval.c_str(), split.c_str(), res.at_threshold.in_domain_accuracy, res.at_threshold.ood_recall,
                    res.at_threshold.gqr, res.p50_ms, res.p99_ms, res.n_in_domain, res.n_ood);
      }
      exit_code = 0;
      return;
    }
    if (a->texts.empty()) throw Error(ErrorCode::kInvalidArgument, "route needs --text or --eval");
    std::unique_ptr<ExpertMap> map;
    if (!a->experts.empty()) map = std::make_unique<ExpertMap>(ExpertMap::load(a->experts));
    nlohmann::json all = nlohmann::json::array();
    for (const auto& t : a->texts) {
      const RouteDecision d = map ? r.route(t, *map) : r.classify(t);
      nlohmann::json j = {{"text", t},
                          {"category", d.out_of_domain ? nullptr : nlohmann::json(d.category)},
                          {"best_category", d.category},
                          {"confidence", d.confidence},
                          {"score", d.score},
                          {"out_of_domain", d.out_of_domain}};
      if (map) {
        j["expert"] = d.expert.empty() ? nullptr : nlohmann::json(d.expert);
        j["fallback"] = d.fallback;
        j["refused"] = d.refused;
      }
      if (a->json) {
        all.push_back(j);
      } else {
        std::string line = d.out_of_domain ? fmt::format("out_of_domain (closest: {}, confidence {:.3f})", d.category, d.confidence)
                                           : fmt::format("{} (confidence {:.3f})", d.category, d.confidence);
        if (map) line += d.refused ? "  → refused" : fmt::format("  → {}{}", d.expert, d.fallback ? " (fallback)" : "");
        std::printf("%s\n", models::printable(line).c_str());  // names from the router and map files
      }
    }
    if (a->json) std::printf("%s\n", models::json_text(all.size() == 1 ? all[0] : all, 2).c_str());
    exit_code = 0;
  });
}

}  // namespace chorus::cli
