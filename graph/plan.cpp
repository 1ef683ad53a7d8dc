#include "graph/plan.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/file_kind.h"
#include "graph/prompt_template.h"

namespace chorus::graph {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", where, what));
}

std::string node_label(const PlanNode& n, size_t index) {
  return n.id.empty() ? fmt::format("node {}", index) : fmt::format("node '{}'", n.id);
}

void reject_unknown_fields(const json& object, std::initializer_list<std::string_view> known, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) fail(where, fmt::format("unknown field '{}'", key));
  }
}

std::string read_string(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) return "";
  if (!it->is_string()) fail(where, fmt::format("field '{}' must be a string", key));
  return it->get<std::string>();
}

NodeGeneration parse_generation(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "'generation' must be an object");
  reject_unknown_fields(j, {"max_tokens", "temperature", "seed"}, where + ": generation");
  NodeGeneration g;
  if (const auto it = j.find("max_tokens"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > 1 << 20)
      fail(where, "generation.max_tokens must be a positive integer");
    g.max_tokens = it->get<int32_t>();
  }
  if (const auto it = j.find("temperature"); it != j.end()) {
    if (!it->is_number() || it->get<double>() < 0.0) fail(where, "generation.temperature must be a number >= 0");
    g.temperature = it->get<float>();
  }
  if (const auto it = j.find("seed"); it != j.end()) {
    if (!it->is_number_unsigned()) fail(where, "generation.seed must be a non-negative integer");
    g.seed = it->get<uint64_t>();
  }
  return g;
}

PlanNode parse_node(const json& j, size_t index, const std::string& source) {
  std::string where = fmt::format("{}: node {}", source, index);
  if (!j.is_object()) fail(where, "must be a JSON object");
  if (j.contains("id") && j["id"].is_string()) where = fmt::format("{}: node '{}'", source, j["id"].get<std::string>());
  reject_unknown_fields(j, {"id", "prompt", "expert", "category", "deps", "generation"}, where);
  PlanNode n;
  n.id = read_string(j, "id", where);
  n.prompt = read_string(j, "prompt", where);
  n.expert = read_string(j, "expert", where);
  n.category = read_string(j, "category", where);
  if (const auto it = j.find("deps"); it != j.end()) {
    if (!it->is_array()) fail(where, "'deps' must be a list of node ids");
    for (const json& d : *it) {
      if (!d.is_string()) fail(where, "'deps' must hold strings");
      n.deps.push_back(d.get<std::string>());
    }
  }
  if (const auto it = j.find("generation"); it != j.end()) n.generation = parse_generation(*it, where);
  return n;
}

// Depth-first search for a cycle; returns the id of a node on one, "" if none.
std::string find_cycle(const Plan& plan) {
  std::map<std::string, int> state;  // 0 unvisited, 1 on the stack, 2 done
  std::function<std::string(const PlanNode&)> visit = [&](const PlanNode& n) -> std::string {
    state[n.id] = 1;
    for (const std::string& d : n.deps) {
      if (state[d] == 1) return d;
      if (state[d] == 0)
        if (std::string c = visit(*plan.find(d)); !c.empty()) return c;
    }
    state[n.id] = 2;
    return "";
  };
  for (const PlanNode& n : plan.nodes)
    if (state[n.id] == 0)
      if (std::string c = visit(n); !c.empty()) return c;
  return "";
}

}  // namespace

const PlanNode* Plan::find(std::string_view id) const {
  for (const PlanNode& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

void validate_plan(const Plan& plan, const PlanVocabulary& vocabulary) {
  if (plan.nodes.empty()) fail("plan", "has no nodes");
  std::set<std::string> ids;
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlanNode& n = plan.nodes[i];
    if (n.id.empty()) fail(node_label(n, i), "has no id");
    if (!ids.insert(n.id).second) fail(node_label(n, i), "duplicate id");
  }
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlanNode& n = plan.nodes[i];
    const std::string where = node_label(n, i);
    if (n.prompt.empty()) fail(where, "has no prompt");
    if (!n.expert.empty() && !n.category.empty()) fail(where, "names both an expert and a category");
    if (!n.expert.empty() && n.expert != kJoinExpert && !vocabulary.experts.contains(n.expert))
      fail(where, fmt::format("unknown expert '{}'", n.expert));
    if (!n.category.empty() && !vocabulary.categories.contains(n.category))
      fail(where, fmt::format("unknown category '{}'", n.category));
    for (const std::string& d : n.deps) {
      if (!ids.contains(d)) fail(where, fmt::format("depends on unknown node '{}'", d));
      if (d == n.id) fail(where, "depends on itself");
    }
    std::vector<std::string> refs;
    try {
      refs = referenced_nodes(n.prompt);
    } catch (const Error& e) {
      fail(where, fmt::format("prompt: {}", e.what()));
    }
    for (const std::string& r : refs) {
      if (!ids.contains(r)) fail(where, fmt::format("prompt refers to unknown node '{}'", r));
      if (std::find(n.deps.begin(), n.deps.end(), r) == n.deps.end())
        fail(where, fmt::format("prompt uses node '{}' which is not in its deps", r));
    }
  }
  if (const std::string c = find_cycle(plan); !c.empty()) fail(fmt::format("node '{}'", c), "is on a dependency cycle");
}

Plan parse_plan(std::string_view json_text, const std::string& source, const PlanVocabulary& vocabulary) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // also out_of_range: a number too large for a double
    throw Error(ErrorCode::kFormat, fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  if (!root.is_object()) fail(source, "a plan must be a JSON object {\"nodes\": [...]}");
  reject_unknown_fields(root, {"nodes"}, source);
  const auto nodes = root.find("nodes");
  if (nodes == root.end() || !nodes->is_array()) fail(source, "'nodes' must be a list");
  Plan plan;
  for (size_t i = 0; i < nodes->size(); ++i) plan.nodes.push_back(parse_node((*nodes)[i], i, source));
  try {
    validate_plan(plan, vocabulary);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", source, e.what()));
  }
  return plan;
}

Plan load_plan(const std::string& path, const PlanVocabulary& vocabulary) {
  return parse_plan(models::read_whole_file(path, "plan file"), path, vocabulary);
}

nlohmann::json to_json(const Plan& plan) {
  json nodes = json::array();
  for (const PlanNode& n : plan.nodes) {
    json j = {{"id", n.id}, {"prompt", n.prompt}, {"deps", n.deps}};
    if (!n.expert.empty()) j["expert"] = n.expert;
    if (!n.category.empty()) j["category"] = n.category;
    json g = json::object();
    if (n.generation.max_tokens) g["max_tokens"] = *n.generation.max_tokens;
    if (n.generation.temperature) g["temperature"] = *n.generation.temperature;
    if (n.generation.seed) g["seed"] = *n.generation.seed;
    if (!g.empty()) j["generation"] = g;
    nodes.push_back(j);
  }
  return {{"nodes", nodes}};
}

}  // namespace chorus::graph
