// The planner expert: a model named in the experts config ("planner") writes
// the plan for a question. Its output is decoded greedily under the plan
// grammar (graph/plan_grammar.h, naming exactly the config's experts and
// categories), so it always parses as JSON of the plan's shape; what the
// grammar cannot promise (ids unique, deps naming earlier nodes, {{node:X}}
// only for deps, no cycles) is checked by validate_plan. A plan that fails
// falls back to the rule-based decomposer, and the outcome says why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "graph/expert_backend.h"
#include "graph/plan.h"

namespace chorus::graph {

struct PlannerOptions {
  int32_t max_tokens = 256;  // room for the plan's JSON
};

struct PlannerOutcome {
  Plan plan;
  std::string source;           // "model", or "rules" when the model's plan was rejected
  std::string expert;           // the planner expert
  std::string model_output;     // the JSON it wrote
  std::string fallback_reason;  // why the model's plan was rejected ("" when it was used)
  double seconds = 0.0;         // the model's prefill + decode
  int32_t generated_tokens = 0;
};

// The instruction the planner expert gets: the task, the categories and experts, two examples, the question.
std::string planner_prompt(std::string_view question, const PlanVocabulary& vocabulary);

// Runs the planner expert through the backend (one greedy, grammar-constrained job).
// A backend failure falls back to the decomposer like a rejected plan.
nlohmann::json to_json(const PlannerOutcome& p);

PlannerOutcome plan_with_expert(std::string_view question, const std::string& expert, ExpertBackend& backend,
                                const PlanVocabulary& vocabulary, const PlannerOptions& options = {});

}  // namespace chorus::graph
