// Ties plans to an experts config: what a plan may name, and how a node
// without an expert gets one (its category through the config's category
// lists; otherwise the router on its rendered prompt, with the config's
// fallback / refusal policy).
#pragma once

#include "chorus/router.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "runtime/expert_registry.h"

namespace chorus::graph {

PlanVocabulary plan_vocabulary(const runtime::ExpertRegistry& registry);

// category → expert (the first expert listing it), fallback and policy.
ExpertMap expert_map(const runtime::ExpertRegistry& registry);

// `router` may be null when no node needs routing by text; such a node then
// fails with an error that asks for a router. Both must outlive the resolver.
ExpertResolver make_resolver(const runtime::ExpertRegistry& registry, const Router* router);

}  // namespace chorus::graph
