// The planner expert with a fake backend: the job it submits, a plan it keeps,
// and the fallback to the rule-based decomposer with the reason.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "graph/decomposer.h"
#include "graph/planner.h"
#include "runtime/grammar_state.h"

namespace chorus::graph {
namespace {

// Answers every job with a fixed text (or throws), and keeps the jobs.
class ScriptedBackend final : public ExpertBackend {
 public:
  explicit ScriptedBackend(std::string text, bool fail = false) : text_(std::move(text)), fail_(fail) {}
  void prefetch(const std::string&, chorus::runtime::Tier) override {}
  std::vector<NodeRun> run_batch(const std::string& expert, const std::vector<NodeJob>& jobs) override {
    if (fail_) throw Error(ErrorCode::kResourceExhausted, "pin refused");
    experts.push_back(expert);
    this->jobs.insert(this->jobs.end(), jobs.begin(), jobs.end());
    NodeRun run;
    run.ok = true;
    run.text = text_;
    run.generated_tokens = 42;
    return {run};
  }
  std::vector<std::string> experts;
  std::vector<NodeJob> jobs;

 private:
  std::string text_;
  bool fail_;
};

const PlanVocabulary kVocabulary{{"smollm2", "stories260K"}, {"general", "stories"}};
const std::string kQuestion = "Tell a story about a cat and explain why the sky is blue.";

TEST(Planner, KeepsAValidModelPlan) {
  const std::string text =
      R"({"nodes": [{"id": "story", "prompt": "Tell a story about a cat.", "category": "stories", "deps": []}, )"
      R"({"id": "sky", "prompt": "Why is the sky blue?", "expert": "smollm2", "deps": []}, )"
      R"({"id": "answer", "prompt": "{{node:story}}\n\n{{node:sky}}", "expert": "join", "deps": ["story", "sky"]}]})";
  ScriptedBackend backend(text);
  const PlannerOutcome out = plan_with_expert(kQuestion, "smollm2", backend, kVocabulary);
  EXPECT_EQ(out.source, "model");
  EXPECT_EQ(out.fallback_reason, "");
  EXPECT_EQ(out.model_output, text);
  EXPECT_EQ(out.generated_tokens, 42);
  ASSERT_EQ(out.plan.nodes.size(), 3u);
  EXPECT_EQ(out.plan.nodes[0].category, "stories");
  EXPECT_EQ(out.plan.nodes[1].expert, "smollm2");
  EXPECT_EQ(out.plan.nodes[2].deps, (std::vector<std::string>{"story", "sky"}));

  // One greedy job on the planner expert, under a grammar that accepts the plan it wrote.
  ASSERT_EQ(backend.jobs.size(), 1u);
  EXPECT_EQ(backend.experts, std::vector<std::string>{"smollm2"});
  const NodeJob& job = backend.jobs[0];
  EXPECT_EQ(job.prompt, planner_prompt(kQuestion, kVocabulary));
  EXPECT_NE(job.prompt.find("Request: " + kQuestion + "\nPlan:"), std::string::npos);
  EXPECT_NE(job.prompt.find("(general, stories)"), std::string::npos);
  EXPECT_EQ(job.generation.temperature, 0.0f);
  EXPECT_EQ(job.generation.max_tokens, 256);
  ASSERT_TRUE(job.grammar);
  runtime::GrammarState state(job.grammar);
  EXPECT_TRUE(state.accept(text));
  EXPECT_TRUE(state.is_complete());
}

TEST(Planner, FallsBackToTheRulesWithTheReason) {
  // Well-formed, but "b" depends on a node that does not exist.
  ScriptedBackend bad_dep(R"({"nodes": [{"id": "b", "prompt": "x", "deps": ["zzz"]}]})");
  PlannerOutcome out = plan_with_expert(kQuestion, "smollm2", bad_dep, kVocabulary);
  EXPECT_EQ(out.source, "rules");
  EXPECT_EQ(out.fallback_reason, "planner 'smollm2': node 'b': depends on unknown node 'zzz'");
  EXPECT_EQ(to_json(out.plan), to_json(decompose(kQuestion)));

  ScriptedBackend cut(R"({"nodes": [{"id": "a", "prompt": "unfinished)");
  out = plan_with_expert(kQuestion, "smollm2", cut, kVocabulary);
  EXPECT_EQ(out.source, "rules");
  EXPECT_NE(out.fallback_reason.find("planner 'smollm2': not valid JSON"), std::string::npos) << out.fallback_reason;

  ScriptedBackend down("", /*fail=*/true);
  out = plan_with_expert(kQuestion, "smollm2", down, kVocabulary);
  EXPECT_EQ(out.source, "rules");
  EXPECT_EQ(out.fallback_reason, "pin refused");
}

}  // namespace
}  // namespace chorus::graph
