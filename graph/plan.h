// A composition plan: a DAG of nodes, each a prompt for one expert (named, or
// found through a category by the router), whose template may use the user's
// question and the outputs of the nodes it depends on. The last node's output
// is the answer. Format and template syntax: docs/composition.md.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace chorus::graph {

// A pseudo-expert that runs no model: its output is its rendered template
// (used for aggregating nodes that only join their dependencies' answers).
inline constexpr const char* kJoinExpert = "join";

// Per-node overrides of the expert's generation defaults.
struct NodeGeneration {
  std::optional<int32_t> max_tokens;
  std::optional<float> temperature;
  std::optional<uint64_t> seed;
};

struct PlanNode {
  std::string id;
  std::string prompt;    // template: {{question}}, {{node:ID}}
  std::string expert;    // "" when the router resolves `category` (or the prompt)
  std::string category;  // "" with an expert; with neither, the router classifies the rendered prompt
  std::vector<std::string> deps;
  NodeGeneration generation;
};

struct Plan {
  std::vector<PlanNode> nodes;  // the last one is the answer

  const PlanNode* find(std::string_view id) const;
};

// What a plan may name.
struct PlanVocabulary {
  std::set<std::string> experts;
  std::set<std::string> categories;
};

// Parses {"nodes": [...]} (unknown fields and wrong types are errors) and
// validates it; throws chorus::Error naming the source and the node.
Plan parse_plan(std::string_view json_text, const std::string& source, const PlanVocabulary& vocabulary);
Plan load_plan(const std::string& path, const PlanVocabulary& vocabulary);

// Rejects an empty plan, empty or duplicate ids, deps or {{node:X}} naming
// unknown nodes, templates using a node that is not a dependency, cycles,
// unknown experts and categories. Messages name the node.
void validate_plan(const Plan& plan, const PlanVocabulary& vocabulary);

nlohmann::json to_json(const Plan& plan);

}  // namespace chorus::graph
