// What the executor needs from the experts: run a batch of prompts on one
// expert, warm an expert up ahead of time, and report the weight store's tier
// moves. The engine-backed implementation is graph/engine_backend.h; tests
// use fakes.
#pragma once

#include <cstdint>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/plan.h"
#include "runtime/grammar.h"
#include "runtime/store_metrics.h"

namespace chorus::graph {

struct NodeJob {
  std::string node_id;
  std::string prompt;  // rendered: no placeholders left
  NodeGeneration generation;
  std::shared_ptr<const runtime::Grammar> grammar = nullptr;  // constrains the output (the planner's plan), or null
  // Receives each generated piece as it comes (streaming), on the thread that called run_batch; may be empty.
  std::function<void(const std::string& piece)> on_piece;
  // Once set, the node stops generating (its run fails: "cancelled"); may be null.
  const std::atomic<bool>* cancel = nullptr;
};

struct NodeRun {
  bool ok = false;
  std::string text;
  std::string error;            // when !ok
  double prefill_seconds = 0;   // batch start → the node's first generated token
  double decode_seconds = 0;    // first token → finished
  int32_t prompt_tokens = 0;
  int32_t reused_prompt_tokens = 0;  // served from a prefix another request computed
  int32_t generated_tokens = 0;
  std::vector<int32_t> tokens;  // the generated ids, for a person to follow a node to its expert's tokens
};

// How far an expert is from being ready to run: its weights' tier (0 =
// resident, 1 = host or on the way up, 2 = only on disk), then their size.
// Smaller is sooner.
struct LoadCost {
  int tier_distance = 0;
  uint64_t bytes = 0;
  auto operator<=>(const LoadCost&) const = default;
};

class ExpertBackend {
 public:
  virtual ~ExpertBackend() = default;
  // Starts moving the expert's weights up to `to` (host or resident) and
  // returns without waiting.
  virtual void prefetch(const std::string& expert, runtime::Tier to) = 0;
  // Runs every job as one batch on the expert; one NodeRun per job, in order.
  // A failure of the whole batch (the expert cannot be pinned, the engine
  // throws) may be thrown as chorus::Error: the executor fails those nodes.
  virtual std::vector<NodeRun> run_batch(const std::string& expert, const std::vector<NodeJob>& jobs) = 0;
  // What running on the expert now would first have to load.
  virtual LoadCost load_cost(const std::string& /*expert*/) { return {}; }
  // Tier moves finished since the previous call, oldest first.
  virtual std::vector<runtime::MoveRecord> take_moves() { return {}; }
};

}  // namespace chorus::graph
