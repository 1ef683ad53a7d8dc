#include "graph/registry_routing.h"

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::graph {

PlanVocabulary plan_vocabulary(const runtime::ExpertRegistry& registry) {
  PlanVocabulary v;
  for (const runtime::ExpertSpec& e : registry.experts) {
    v.experts.insert(e.name);
    v.categories.insert(e.categories.begin(), e.categories.end());
  }
  return v;
}

ExpertMap expert_map(const runtime::ExpertRegistry& registry) {
  ExpertMap map;
  for (const runtime::ExpertSpec& e : registry.experts)
    for (const std::string& c : e.categories) map.experts.emplace(c, e.name);
  map.fallback = registry.fallback_expert;
  map.refuse = registry.refuse_out_of_domain;
  return map;
}

ExpertResolver make_resolver(const runtime::ExpertRegistry& registry, const Router* router) {
  return [map = expert_map(registry), router](const PlanNode& node, std::string_view text) {
    if (!node.category.empty()) {
      RouteDecision named;  // the plan named the category: certain
      named.category = node.category;
      named.confidence = 1.0f;
      return apply_experts(named, map);
    }
    if (!router)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("node '{}' names no expert or category and no router is loaded", node.id));
    return router->route(text, map);
  };
}

}  // namespace chorus::graph
