// chorus::Composer — a composition of experts: the weight store that holds
// them in tiers, the guarded router, the planner and the wave executor.
// Public C++ API.
//
// Threading contract: as chorus::Model's. Concurrent `generate` calls for one
// expert join that expert's engine as one continuous batch; an expert that is
// not resident is loaded through the store within its byte budgets, and its
// requests wait for it. `ask` may run while `generate` calls do.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chorus/export.h"
#include "chorus/model.h"

namespace chorus {

struct ComposerOptions {
  std::string router;            // router file from `chorus train-router`; "" = none (routing by text refuses)
  int32_t threads = 0;           // as ModelOptions
  std::string kernel_path;
  std::string activations;
  std::string dtype;             // replaces every expert's own dtype when set
  int32_t max_running = 8;       // sequences batched at once per expert
  int32_t max_context = 512;     // positions per sequence
};

struct ExpertInfo {
  std::string name;
  std::string model_path;
  std::vector<std::string> categories;
  std::string tier;              // "resident" | "host" | "disk"
  uint64_t bytes = 0;            // its weights in the resident tier
};

struct AskParams {
  std::string planner;           // "rules" | "model" | "trivial"; "" = model if the config names a planner, else rules
  std::string plan_path;         // a plan file instead of a planner
  bool skip_failed_dependants = false;  // false: dependants run with "[node ID failed: why]" for its output
  std::string trace_path;        // write a Chrome/Perfetto trace here
  // Streams the final node's pieces as they come, on the calling thread
  // (TokenEvent::token is -1: a composition streams text); false stops the
  // streaming, not the answer.
  TokenCallback on_final_token;
  // Once set (from any thread), the running nodes stop between decode steps and
  // the others are skipped: the result is not ok, its nodes say "cancelled".
  const std::atomic<bool>* cancel = nullptr;
};

struct NodeOutcome {
  std::string id;
  std::string expert;            // "join" for a node that only joins its dependencies' outputs
  std::vector<std::string> deps;
  std::string status;            // "done" | "failed" | "skipped"
  std::string prompt;
  std::string output;
  std::string error;
  int32_t wave = 0;
  std::string route_category;    // when the node was routed by text
  float route_confidence = 0.0f;
  bool route_fallback = false;
  int32_t prompt_tokens = 0;
  int32_t generated_tokens = 0;
  std::vector<int32_t> tokens;   // the generated ids (the expert's vocabulary)
  double seconds = 0.0;
};

// Where the plan came from.
struct PlannerReport {
  std::string source;            // "model" | "rules" | "trivial" | "file"
  std::string expert;            // with "model" (or "rules" after the model's plan was rejected)
  std::string fallback_reason;   // why the model's plan was rejected
  double seconds = 0.0;
  int32_t generated_tokens = 0;
};

struct AskResult {
  std::string answer;
  PlannerReport planner;
  bool ok = false;                    // the final node and every node it depends on finished
  std::vector<NodeOutcome> nodes;     // in plan order
  std::vector<std::string> failures;  // "node: why", for each failed node the answer depends on
  double seconds = 0.0;
  std::string json;                   // everything: question, plan, nodes, waves, timings, tier moves, route decisions
};

struct TierUsage {
  std::string tier;              // "resident" | "host"
  uint64_t used_bytes = 0;
  uint64_t budget_bytes = 0;
};

struct ComposerMetrics {
  std::vector<TierUsage> tiers;
  uint64_t hits = 0;             // pins served from the resident tier
  uint64_t misses = 0;           // pins that had to load
  uint64_t evictions = 0;
  double swap_seconds = 0.0;     // time spent moving weights between tiers
  std::vector<std::pair<std::string, EngineLoad>> engines;  // per expert with a live engine
  int64_t pinned = 0;            // pins held right now
};

class CHORUS_API Composer {
 public:
  // Opens an experts config (JSON: experts, categories, store budgets; see
  // docs/composition.md). Throws chorus::Error naming the file and field.
  static Composer open(const std::string& experts_config, const ComposerOptions& options = {});
  Composer(Composer&&) noexcept;
  Composer& operator=(Composer&&) noexcept;
  ~Composer();

  // Answers a question: plan, route each node, run the plan in batched waves.
  AskResult ask(const std::string& question, const AskParams& params = {});
  // One expert, as Model::generate (the expert's prompt template is not applied).
  GenerateResult generate(const std::string& expert, const std::string& prompt, const GenerateParams& params = {});
  GenerateResult generate(const std::string& expert, const std::vector<ChatMessage>& messages,
                          const GenerateParams& params = {});

  std::vector<ExpertInfo> experts() const;
  ModelInfo expert_info(const std::string& expert) const;
  // As Model::tokenize and Model::chat_tokens, with the expert's vocabulary and
  // chat template (its weights are not loaded): a server checks a prompt's
  // length before it queues the request.
  std::vector<int32_t> tokenize(const std::string& expert, std::string_view text, bool add_bos = true,
                                bool parse_special = false) const;
  std::vector<int32_t> chat_tokens(const std::string& expert, const std::vector<ChatMessage>& messages,
                                   bool parse_special = false) const;
  ComposerMetrics metrics() const;
  std::string config_path() const;

 private:
  struct Impl;
  explicit Composer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chorus
