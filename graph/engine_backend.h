// The real ExpertBackend: each expert runs on its own runtime::Engine (created
// on first use), with weights pinned from the weight store for the batch.
// Prompts go through the expert's prompt_template and, for chat models (a GGUF
// with tokenizer.chat_template, e.g. SmolLM2), the chat template as one user
// turn; base models (stories260K, aidreams260K) get plain text continuations.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/expert_backend.h"
#include "runtime/engine.h"
#include "runtime/expert_registry.h"
#include "runtime/weight_store.h"

namespace chorus::graph {

class EngineBackend : public ExpertBackend {
 public:
  // The registry and the store must outlive the backend.
  EngineBackend(const runtime::ExpertRegistry& registry, runtime::WeightStore& store,
                const runtime::EngineOptions& engine_options);
  ~EngineBackend() override;

  void prefetch(const std::string& expert, runtime::Tier to) override;
  std::vector<NodeRun> run_batch(const std::string& expert, const std::vector<NodeJob>& jobs) override;
  std::vector<runtime::MoveRecord> take_moves() override;
  LoadCost load_cost(const std::string& expert) override;

 private:
  struct ExpertRuntime;
  ExpertRuntime& runtime_of(const std::string& expert);

  const runtime::ExpertRegistry& registry_;
  runtime::WeightStore& store_;
  runtime::EngineOptions engine_options_;
  std::map<std::string, std::unique_ptr<ExpertRuntime>> runtimes_;
  uint64_t moves_seen_ = 0;  // tier moves already handed out
};

}  // namespace chorus::graph
