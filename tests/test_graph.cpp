// graph/: plan parsing and validation, templates, the rule-based decomposer,
// the executor's scheduling with fake experts, and a composition on the real
// tiny models (stories260K, aidreams260K).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "graph/decomposer.h"
#include "graph/engine_backend.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/prompt_template.h"
#include "graph/registry_routing.h"
#include "graph/trace.h"
#include "runtime/expert_registry.h"
#include "runtime/weight_store.h"
#include "test_paths.h"

namespace chorus::graph {
namespace {

const PlanVocabulary kVocabulary{{"alpha", "beta", "gamma"}, {"stories", "dreams"}};

// The message of the chorus::Error that parsing `json_text` throws.
std::string plan_error(const std::string& json_text) {
  try {
    parse_plan(json_text, "plan.json", kVocabulary);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GraphTemplate, RendersQuestionAndNodes) {
  EXPECT_EQ(referenced_nodes("{{node:a}} and {{question}} {{node:b}} {{node:a}}"), (std::vector<std::string>{"a", "b"}));
  const std::string out =
      render_template("Q={{question}} A={{node:a}}.", "why?", [](const std::string& id) { return "<" + id + ">"; });
  EXPECT_EQ(out, "Q=why? A=<a>.");
  EXPECT_THROW(referenced_nodes("{{nope}}"), Error);
  EXPECT_THROW(referenced_nodes("open {{question"), Error);
  EXPECT_THROW(referenced_nodes("{{node:}}"), Error);
}

TEST(GraphPlan, ParsesAValidPlan) {
  const Plan plan = parse_plan(R"({"nodes": [
      {"id": "s", "prompt": "A story: {{question}}", "category": "stories", "generation": {"max_tokens": 7, "temperature": 0}},
      {"id": "d", "prompt": "{{question}}", "expert": "beta"},
      {"id": "out", "prompt": "{{node:s}} / {{node:d}}", "expert": "join", "deps": ["s", "d"]}]})",
                               "plan.json", kVocabulary);
  ASSERT_EQ(plan.nodes.size(), 3u);
  EXPECT_EQ(plan.nodes[0].category, "stories");
  EXPECT_EQ(*plan.nodes[0].generation.max_tokens, 7);
  EXPECT_EQ(plan.nodes[1].expert, "beta");
  EXPECT_EQ(plan.nodes[2].deps, (std::vector<std::string>{"s", "d"}));
  // to_json gives back a plan that parses to the same thing.
  const Plan again = parse_plan(to_json(plan).dump(), "again", kVocabulary);
  EXPECT_EQ(to_json(again), to_json(plan));
}

TEST(GraphPlan, EachValidationErrorNamesTheNode) {
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "expert": "alpha", "deps": ["b"]},
                                      {"id": "b", "prompt": "y", "expert": "alpha", "deps": ["a"]}]})")
                .find("on a dependency cycle"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "deps": ["ghost"]}]})")
                .find("node 'a': depends on unknown node 'ghost'"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "{{node:ghost}}"}]})")
                .find("node 'a': prompt refers to unknown node 'ghost'"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "{{node:a}}"}]})")
                .find("node 'b': prompt uses node 'a' which is not in its deps"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "expert": "nobody"}]})")
                .find("node 'a': unknown expert 'nobody'"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "category": "cooking"}]})")
                .find("node 'a': unknown category 'cooking'"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}]})")
                .find("node 'a': duplicate id"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "deps": ["a"]}]})").find("node 'a': depends on itself"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "{{oops}}"}]})").find("node 'a': prompt: unknown placeholder"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "colour": "red"}]})").find("node 'a': unknown field 'colour'"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "expert": "alpha", "category": "stories"}]})")
                .find("names both"),
            std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": []})").find("has no nodes"), std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a"}]})").find("node 'a': has no prompt"), std::string::npos);
  EXPECT_NE(plan_error(R"({"nodes": [{"id": "a", "prompt": "x", "generation": {"max_tokens": -3}}]})")
                .find("max_tokens"),
            std::string::npos);
  EXPECT_NE(plan_error("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(plan_error("[1, 2]").find("must be a JSON object"), std::string::npos);
}

TEST(GraphDecomposer, SplitsEnumerationsConjunctionsAndQuestions) {
  EXPECT_EQ(split_question("Tell a story about a cat, a dog and a bird."),
            (std::vector<std::string>{"Tell a story about a cat.", "Tell a story about a dog.", "Tell a story about a bird."}));
  EXPECT_EQ(split_question("Name the capitals of France, Spain and Italy"),
            (std::vector<std::string>{"Name the capitals of France", "Name the capitals of Spain", "Name the capitals of Italy"}));
  EXPECT_EQ(split_question("Write a story about a dragon and describe a dream of a robot."),
            (std::vector<std::string>{"Write a story about a dragon.", "describe a dream of a robot."}));
  EXPECT_EQ(split_question("What is the capital of France? Who wrote Hamlet?"),
            (std::vector<std::string>{"What is the capital of France?", "Who wrote Hamlet?"}));
  // The question mark of the whole request stays on the parts that ask.
  EXPECT_EQ(split_question("Write a Python function that reverses a list, and what is the capital of France?"),
            (std::vector<std::string>{"Write a Python function that reverses a list.", "what is the capital of France?"}));
  // A short conjunction inside one request is not split.
  EXPECT_EQ(split_question("Why do people like salt and pepper?"), (std::vector<std::string>{"Why do people like salt and pepper?"}));

  const Plan plan = decompose("What is the capital of France? Tell a story about a cat, a dog and a bird.");
  validate_plan(plan, kVocabulary);
  ASSERT_EQ(plan.nodes.size(), 5u);
  EXPECT_EQ(plan.nodes[0].prompt, "What is the capital of France?");
  EXPECT_TRUE(plan.nodes[0].expert.empty());  // routed
  EXPECT_EQ(plan.nodes.back().expert, kJoinExpert);
  EXPECT_EQ(plan.nodes.back().deps, (std::vector<std::string>{"q1", "q2", "q3", "q4"}));

  const Plan single = decompose("Why is the sky blue?");
  ASSERT_EQ(single.nodes.size(), 1u);
  EXPECT_EQ(single.nodes[0].prompt, "{{question}}");
  // Braces in a question never become placeholders.
  validate_plan(decompose("Explain {{node:x}}? And {{question}}?"), kVocabulary);
}

// A fake expert: answers "<expert>(<prompt>)", records batches and prefetches,
// and fails the nodes (or whole experts) it is told to.
class FakeBackend : public ExpertBackend {
 public:
  std::vector<std::pair<std::string, std::vector<std::string>>> batches;  // expert, node ids
  std::vector<std::string> prefetches;
  std::vector<chorus::runtime::Tier> prefetch_tiers;
  std::set<std::string> failing_nodes, failing_experts;
  std::map<std::string, LoadCost> costs;  // experts not listed are resident
  // Each batch first waits `load_wait` (as for its expert's load), then
  // reports these compute times for every run; moves come from `moves`.
  std::chrono::milliseconds load_wait{0};
  double prefill_seconds = 0, decode_seconds = 0;
  std::vector<chorus::runtime::MoveRecord> moves;

  std::vector<chorus::runtime::MoveRecord> take_moves() override { return std::exchange(moves, {}); }
  void prefetch(const std::string& expert, chorus::runtime::Tier to) override {
    prefetches.push_back(expert);
    prefetch_tiers.push_back(to);
  }
  LoadCost load_cost(const std::string& expert) override {
    const auto it = costs.find(expert);
    return it == costs.end() ? LoadCost{} : it->second;
  }
  std::vector<NodeRun> run_batch(const std::string& expert, const std::vector<NodeJob>& jobs) override {
    if (failing_experts.contains(expert)) throw Error(ErrorCode::kResourceExhausted, "budget too small");
    std::this_thread::sleep_for(load_wait + std::chrono::milliseconds(static_cast<int>(
                                                  1000 * (prefill_seconds + decode_seconds))));
    std::vector<std::string> ids;
    std::vector<NodeRun> runs;
    for (const NodeJob& j : jobs) {
      ids.push_back(j.node_id);
      NodeRun r;
      r.prefill_seconds = prefill_seconds;
      r.decode_seconds = decode_seconds;
      r.ok = !failing_nodes.contains(j.node_id);
      if (r.ok) r.text = expert + "(" + j.prompt + ")";
      else r.error = "model error";
      runs.push_back(r);
    }
    batches.emplace_back(expert, ids);
    return runs;
  }
};

RouteDecision route_by_category(const PlanNode& node, std::string_view text) {
  if (node.category == "dreams" || text.find("dream") != std::string_view::npos) return {.category = "dreams", .expert = "beta"};
  if (text.find("bank") != std::string_view::npos) return {.out_of_domain = true, .refused = true};
  return {.category = "stories", .expert = "alpha"};
}

const char* kDiamond = R"({"nodes": [
    {"id": "a", "prompt": "A {{question}}", "expert": "alpha"},
    {"id": "b", "prompt": "B", "expert": "alpha"},
    {"id": "c", "prompt": "C", "expert": "beta"},
    {"id": "d", "prompt": "D {{node:a}} {{node:c}}", "expert": "gamma", "deps": ["a", "c"]},
    {"id": "out", "prompt": "{{node:d}} | {{node:b}}", "expert": "join", "deps": ["d", "b"]}]})";

TEST(GraphExecutor, RunsWavesBatchedByExpertAndSubstitutes) {
  const Plan plan = parse_plan(kDiamond, "diamond", kVocabulary);
  FakeBackend backend;
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.waves.size(), 3u);
  EXPECT_EQ(r.waves[0].nodes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.waves[1].nodes, (std::vector<std::string>{"d"}));
  EXPECT_EQ(r.waves[2].nodes, (std::vector<std::string>{"out"}));
  ASSERT_EQ(backend.batches.size(), 3u);  // alpha {a, b}, beta {c}, gamma {d}
  EXPECT_EQ(backend.batches[0], (std::pair<std::string, std::vector<std::string>>{"alpha", {"a", "b"}}));
  EXPECT_EQ(backend.batches[1], (std::pair<std::string, std::vector<std::string>>{"beta", {"c"}}));
  EXPECT_EQ(backend.batches[2], (std::pair<std::string, std::vector<std::string>>{"gamma", {"d"}}));
  // Before alpha's batch started, wave 0 queued the loads of alpha (first, so
  // that no later load holds it up), beta (runs after alpha) and gamma (wave 1);
  // wave 1 then queued gamma's resident load for itself.
  EXPECT_EQ(backend.prefetches, (std::vector<std::string>{"alpha", "beta", "gamma", "gamma"}));
  // This wave's experts go resident; gamma, needed only in the next, to host
  // memory, so that its copy cannot evict an expert this wave still needs.
  using chorus::runtime::Tier;
  EXPECT_EQ(backend.prefetch_tiers,
            (std::vector<Tier>{Tier::kResident, Tier::kResident, Tier::kHost, Tier::kResident}));
  EXPECT_EQ(r.waves[0].prefetched, (std::vector<std::string>{"alpha", "beta", "gamma"}));
  EXPECT_EQ(r.answer, "gamma(D alpha(A q) beta(C)) | alpha(B)");
}

TEST(GraphExecutor, GroupsClosestToReadyRunFirstAndTheRestLoadMeanwhile) {
  const Plan plan = parse_plan(kDiamond, "diamond", kVocabulary);
  FakeBackend backend;
  backend.costs = {{"alpha", {2, 1000}}, {"beta", {1, 5000}}};  // beta in host memory: sooner than alpha on disk
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(backend.batches.size(), 3u);
  EXPECT_EQ(backend.batches[0].first, "beta");
  EXPECT_EQ(backend.batches[1].first, "alpha");
  // Loads queued in the order the groups run: beta's before alpha's.
  EXPECT_EQ(backend.prefetches, (std::vector<std::string>{"beta", "alpha", "gamma", "gamma"}));
  // Node-at-a-time keeps the plan's order, and prefetches nothing.
  FakeBackend sequential;
  sequential.costs = backend.costs;
  execute_plan(plan, "q", sequential, route_by_category, {.sequential = true});
  EXPECT_EQ(sequential.batches[0].first, "alpha");
  EXPECT_TRUE(sequential.prefetches.empty());
}

TEST(GraphExecutor, FailedNodeSkipsItsDependants) {
  const Plan plan = parse_plan(kDiamond, "diamond", kVocabulary);
  FakeBackend backend;
  backend.failing_nodes = {"c"};
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.nodes[2].status, NodeStatus::kFailed);
  EXPECT_EQ(r.nodes[2].error, "model error");
  EXPECT_EQ(r.nodes[3].status, NodeStatus::kSkipped);
  EXPECT_EQ(r.nodes[4].status, NodeStatus::kSkipped);
  EXPECT_EQ(r.nodes[1].status, NodeStatus::kDone);  // b does not depend on c
  EXPECT_EQ(backend.batches.size(), 2u);             // gamma never ran
  EXPECT_NE(r.answer.find("[node out failed"), std::string::npos);
}

TEST(GraphExecutor, FailedNodeLeavesAMarkerWhenConfigured) {
  const Plan plan = parse_plan(kDiamond, "diamond", kVocabulary);
  FakeBackend backend;
  backend.failing_experts = {"beta"};  // the whole batch throws
  const CompositionResult r =
      execute_plan(plan, "q", backend, route_by_category, ExecutorOptions{.on_failure = FailurePolicy::kMarker});
  EXPECT_EQ(r.nodes[2].status, NodeStatus::kFailed);
  EXPECT_EQ(r.nodes[2].error, "budget too small");
  ASSERT_EQ(r.nodes[3].status, NodeStatus::kDone);
  EXPECT_EQ(r.nodes[3].prompt, "D alpha(A q) [node c failed: budget too small]");
  // The final node ran, but on a marker: the answer is not ok, and says which node failed and why.
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failures, std::vector<std::string>{"node 'c' failed: budget too small"});
}

TEST(GraphExecutor, RoutesNodesAndReportsRefusals) {
  const Plan plan = decompose("Tell a story about a dragon and describe a dream of a robot. Check my bank balance.");
  FakeBackend backend;
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  ASSERT_EQ(r.nodes.size(), 4u);
  EXPECT_EQ(r.nodes[0].expert, "alpha");
  EXPECT_EQ(r.nodes[1].expert, "beta");
  EXPECT_EQ(r.nodes[2].status, NodeStatus::kFailed);
  EXPECT_NE(r.nodes[2].error.find("refused: out of domain"), std::string::npos);
  ASSERT_TRUE(r.nodes[2].route);
  EXPECT_TRUE(r.nodes[2].route->refused);
  // The join node depends on the refused one: skipped, reported, no hang.
  EXPECT_EQ(r.nodes[3].status, NodeStatus::kSkipped);
  EXPECT_FALSE(r.ok);

  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["nodes"][2]["status"], "failed");
  EXPECT_EQ(j["nodes"][0]["route"]["category"], "stories");
}

TEST(GraphExecutor, TraceHasRouterWavesAndNodes) {
  const Plan plan = decompose("Tell a story about a dragon and describe a dream of a robot.");
  FakeBackend backend;
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  const nlohmann::json trace = chrome_trace(r.trace);
  std::set<std::string> names;
  for (const auto& e : trace["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("tid"));
    if (e["ph"] == "X") {
      ASSERT_TRUE(e.contains("ts") && e.contains("dur") && e.contains("args"));
      names.insert(e["name"].get<std::string>());
    }
  }
  for (const char* n : {"route q1", "route q2", "wave 0", "wave 1", "prefill q1", "decode q1", "prefill q2", "decode q2"})
    EXPECT_TRUE(names.contains(n)) << n;
}

// Events are placed by what happened, not by when the executor saw it: a
// batch's wait for its expert comes first, its prefill starts when the wait
// ends, its decode when the prefill ends; a tier move is drawn from its start.
TEST(GraphExecutor, TraceOrdersWaitPrefillDecodeAndMoves) {
  const Plan plan = parse_plan(R"({"nodes": [{"id": "a", "prompt": "A", "expert": "alpha"}]})", "one", kVocabulary);
  FakeBackend backend;
  backend.load_wait = std::chrono::milliseconds(30);
  backend.prefill_seconds = 0.010;
  backend.decode_seconds = 0.020;
  backend.moves.push_back({"alpha", chorus::runtime::Tier::kDisk, chorus::runtime::Tier::kResident, 1000, 0.025,
                           std::chrono::steady_clock::now()});
  const CompositionResult r = execute_plan(plan, "q", backend, route_by_category);
  std::map<std::string, nlohmann::json> events;
  const nlohmann::json trace = chrome_trace(r.trace);
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X") events[e["name"].get<std::string>()] = e;
  for (const char* n : {"wait for alpha", "prefill a", "decode a"}) ASSERT_TRUE(events.contains(n)) << n;
  const auto end = [](const nlohmann::json& e) { return e["ts"].get<double>() + e["dur"].get<double>(); };
  EXPECT_GE(events["wait for alpha"]["dur"].get<double>(), 25'000.0);  // µs: at least the 30 ms sleep, less rounding
  EXPECT_NEAR(events["prefill a"]["ts"].get<double>(), end(events["wait for alpha"]), 1.0);
  EXPECT_NEAR(events["decode a"]["ts"].get<double>(), end(events["prefill a"]), 1.0);
  EXPECT_NEAR(events["prefill a"]["dur"].get<double>(), 10'000.0, 1.0);
  ASSERT_TRUE(events.contains("alpha disk→resident"));
  // Started before the executor did: drawn from the executor's start.
  EXPECT_EQ(events["alpha disk→resident"]["ts"].get<double>(), 0.0);
  EXPECT_NEAR(events["alpha disk→resident"]["dur"].get<double>(), 25'000.0, 1.0);
}

// The real tiny models: a config with stories260K and aidreams260K.
runtime::ExpertRegistry tiny_registry() {
  const std::string models = test::fixture_dir() + "/models";
  const nlohmann::json config = {
      {"experts",
       {{{"name", "stories"}, {"model", models + "/stories260K/stories260K.bin"},
         {"tokenizer", models + "/stories260K/tok512.bin"}, {"categories", {"stories"}},
         {"generation", {{"max_tokens", 24}, {"temperature", 0}}}},
        {{"name", "dreams"}, {"model", models + "/aidreams260K/aidreams260K.bin"},
         {"tokenizer", models + "/aidreams260K/tok512.bin"}, {"categories", {"dreams"}},
         {"generation", {{"max_tokens", 24}, {"temperature", 0}}}}}},
      {"store", {{"resident_bytes", "64MiB"}, {"host_bytes", "64MiB"}}}};
  return runtime::parse_expert_registry(config.dump(), "tiny.json", ".");
}

TEST(GraphRegistryRouting, CategoriesMapToExpertsAndTextNeedsARouter) {
  const runtime::ExpertRegistry registry = tiny_registry();
  const PlanVocabulary vocabulary = plan_vocabulary(registry);
  EXPECT_EQ(vocabulary.experts, (std::set<std::string>{"stories", "dreams"}));
  EXPECT_EQ(vocabulary.categories, (std::set<std::string>{"stories", "dreams"}));
  const ExpertResolver resolve = make_resolver(registry, nullptr);
  PlanNode node;
  node.id = "n";
  node.prompt = "x";
  node.category = "dreams";
  const RouteDecision d = resolve(node, "x");
  EXPECT_EQ(d.expert, "dreams");
  EXPECT_FALSE(d.refused);
  node.category.clear();
  EXPECT_THROW(resolve(node, "x"), Error);  // routing by text without a router
  // In a run, that error fails the node with a message instead of throwing.
  FakeBackend backend;
  const CompositionResult r = execute_plan(trivial_plan(), "hello", backend, resolve);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.nodes[0].error.find("no router is loaded"), std::string::npos);
}

CompositionResult run_tiny(const runtime::ExpertRegistry& registry, const Plan& plan, const std::string& question) {
  runtime::WeightStore store(registry);
  runtime::EngineOptions engine;
  engine.max_running = 4;
  engine.max_context = 256;
  EngineBackend backend(registry, store, engine);
  return execute_plan(plan, question, backend, make_resolver(registry, nullptr));
}

TEST(GraphEndToEnd, TwoDomainQuestionOnTinyModels) {
  const runtime::ExpertRegistry registry = tiny_registry();
  // Each sub-question gets the category its domain has; the join collects both.
  const Plan plan = parse_plan(R"({"nodes": [
      {"id": "story", "prompt": "Once upon a time, a little cat", "category": "stories"},
      {"id": "dream", "prompt": "The AI dreamed", "category": "dreams"},
      {"id": "answer", "prompt": "{{node:story}}\n--\n{{node:dream}}", "expert": "join", "deps": ["story", "dream"]}]})",
                               "two_domains", plan_vocabulary(registry));
  const std::string question = "Tell a story about a cat and describe an AI's dream.";
  const CompositionResult first = run_tiny(registry, plan, question);
  ASSERT_TRUE(first.ok) << to_json(first).dump(1);
  EXPECT_EQ(first.nodes[0].expert, "stories");
  EXPECT_EQ(first.nodes[1].expert, "dreams");
  EXPECT_EQ(first.nodes[0].wave, 0);
  EXPECT_EQ(first.nodes[1].wave, 0);
  EXPECT_EQ(first.nodes[0].run.generated_tokens, 24);
  EXPECT_FALSE(first.nodes[0].output.empty());
  EXPECT_FALSE(first.nodes[1].output.empty());
  EXPECT_NE(first.nodes[0].output, first.nodes[1].output);
  EXPECT_EQ(first.answer, first.nodes[0].output + "\n--\n" + first.nodes[1].output);
  EXPECT_FALSE(first.moves.empty());  // both experts were loaded through the store

  const CompositionResult second = run_tiny(registry, plan, question);
  EXPECT_EQ(second.answer, first.answer);  // greedy: deterministic
}

TEST(GraphEndToEnd, BatchedSiblingsEqualSingleRuns) {
  const runtime::ExpertRegistry registry = tiny_registry();
  const PlanVocabulary vocabulary = plan_vocabulary(registry);
  const Plan both = parse_plan(R"({"nodes": [
      {"id": "a", "prompt": "Once upon a time, a dog", "expert": "stories"},
      {"id": "b", "prompt": "Once upon a time, a bird", "expert": "stories"},
      {"id": "out", "prompt": "{{node:a}}|{{node:b}}", "expert": "join", "deps": ["a", "b"]}]})",
                               "both", vocabulary);
  const CompositionResult batched = run_tiny(registry, both, "");
  ASSERT_TRUE(batched.ok);
  for (const char* id : {"a", "b"}) {
    Plan single;
    single.nodes.push_back(*both.find(id));
    const CompositionResult alone = run_tiny(registry, single, "");
    ASSERT_TRUE(alone.ok);
    EXPECT_EQ(alone.answer, batched.nodes[id == std::string("a") ? 0 : 1].output) << id;
  }
}

}  // namespace
}  // namespace chorus::graph
