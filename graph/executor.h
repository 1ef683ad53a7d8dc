// The composition executor: walks a validated plan in waves. A wave is every
// node whose dependencies are finished; its nodes are grouped by expert and
// each group runs as one batch on that expert, while the experts of the later
// groups and of the next wave are prefetched. Finished outputs are
// substituted into dependants. A failed node (refused by the router, a model
// or budget error) is reported, and its dependants are skipped or see a marker
// in place of its output.
#pragma once

#include <atomic>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "chorus/router.h"
#include "graph/expert_backend.h"
#include "graph/plan.h"
#include "graph/trace.h"

namespace chorus::graph {

enum class FailurePolicy {
  kSkipDependants,  // a dependant of a failed node is skipped (and fails in turn)
  kMarker,          // a dependant runs with "[node ID failed: reason]" for the output
};

// Picks the expert of a node that names none (by its category, or by its
// rendered prompt); a refusal is a RouteDecision with refused = true.
using ExpertResolver = std::function<RouteDecision(const PlanNode& node, std::string_view rendered_prompt)>;

struct ExecutorOptions {
  FailurePolicy on_failure = FailurePolicy::kSkipDependants;
  // One node at a time: no batching of a wave's nodes, no prefetch — the
  // baseline that `chorus bench compose` compares the executor against.
  bool sequential = false;
  // Streams every node's generated pieces as they come, on the caller's thread; may be empty.
  std::function<void(const std::string& node_id, const std::string& piece)> on_piece;
  // Once set (by another thread), the running nodes stop between decode steps
  // (failed: "cancelled") and the nodes not started yet are skipped; may be null.
  const std::atomic<bool>* cancel = nullptr;
};

enum class NodeStatus { kDone, kFailed, kSkipped };
const char* node_status_name(NodeStatus s);

struct NodeResult {
  std::string id;
  std::string expert;
  std::string prompt;  // rendered
  NodeStatus status = NodeStatus::kSkipped;
  std::string output;
  std::string error;
  int wave = -1;
  std::optional<RouteDecision> route;  // when the resolver chose the expert
  NodeRun run;
};

struct WaveRecord {
  std::vector<std::string> nodes;
  std::vector<std::string> prefetched;  // experts warmed ahead: this wave's later groups, then the next wave's
  double start_s = 0;
  double seconds = 0;
};

struct CompositionResult {
  // The final node finished and so did every node it depends on, directly or
  // not: an answer built on a refused or failed node's marker is not ok.
  bool ok = false;
  std::string answer;
  // When not ok: each unfinished node the answer depends on (the final node
  // included), "node 'ID' STATUS: why", in plan order.
  std::vector<std::string> failures;
  std::vector<NodeResult> nodes;  // in plan order
  std::vector<WaveRecord> waves;
  std::vector<runtime::MoveRecord> moves;
  std::vector<TraceEvent> trace;
  double seconds = 0;
};

CompositionResult execute_plan(const Plan& plan, std::string_view question, ExpertBackend& backend,
                               const ExpertResolver& resolve, const ExecutorOptions& options = {});

// The plan, per-node outputs, timings, waves, tier moves and router decisions.
nlohmann::json to_json(const CompositionResult& result);

}  // namespace chorus::graph
