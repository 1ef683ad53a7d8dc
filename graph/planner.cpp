#include "graph/planner.h"

#include <nlohmann/json.hpp>

#include <memory>

#include <fmt/format.h>

#include "chorus/error.h"
#include "graph/decomposer.h"
#include "graph/plan_grammar.h"
#include "runtime/grammar.h"

namespace chorus::graph {

namespace {

std::string names(const std::set<std::string>& set) { return fmt::format("{}", fmt::join(set, ", ")); }

}  // namespace

std::string planner_prompt(std::string_view question, const PlanVocabulary& vocabulary) {
  return fmt::format(
      "Split the request into sub-questions and write the plan as JSON. Each node has an id, a prompt, a category "
      "({}) and deps. A prompt may use {{{{question}}}} for the request and {{{{node:ID}}}} for the answer of a node "
      "listed in its deps. With several sub-questions, a last node with \"expert\": \"join\" joins their answers.\n\n"
      "Request: Tell me a story about a fox, and what is the capital of Spain?\n"
      "Plan: {{\"nodes\": [{{\"id\": \"story\", \"prompt\": \"Tell me a story about a fox.\", \"category\": \"stories\", "
      "\"deps\": []}}, {{\"id\": \"fact\", \"prompt\": \"What is the capital of Spain?\", \"category\": \"general\", "
      "\"deps\": []}}, {{\"id\": \"answer\", \"prompt\": \"{{{{node:story}}}}\\n\\n{{{{node:fact}}}}\", \"expert\": "
      "\"join\", \"deps\": [\"story\", \"fact\"]}}]}}\n\n"
      "Request: What is photosynthesis?\n"
      "Plan: {{\"nodes\": [{{\"id\": \"answer\", \"prompt\": \"{{{{question}}}}\", \"category\": \"general\", "
      "\"deps\": []}}]}}\n\n"
      "Request: {}\nPlan:",
      names(vocabulary.categories), question);
}

nlohmann::json to_json(const PlannerOutcome& p) {
  return {{"source", p.source}, {"expert", p.expert}, {"output", p.model_output}, {"fallback_reason", p.fallback_reason},
          {"seconds", p.seconds}, {"generated_tokens", p.generated_tokens}};
}

PlannerOutcome plan_with_expert(std::string_view question, const std::string& expert, ExpertBackend& backend,
                                const PlanVocabulary& vocabulary, const PlannerOptions& options) {
  PlannerOutcome out;
  out.expert = expert;
  NodeJob job;
  job.node_id = "planner";
  job.prompt = planner_prompt(question, vocabulary);
  job.generation.max_tokens = options.max_tokens;
  job.generation.temperature = 0.0f;
  job.grammar = std::make_shared<const runtime::Grammar>(runtime::Grammar::parse(plan_grammar(vocabulary), "plan grammar"));
  try {
    const std::vector<NodeRun> runs = backend.run_batch(expert, {job});
    const NodeRun& run = runs.at(0);
    out.model_output = run.text;
    out.seconds = run.prefill_seconds + run.decode_seconds;
    out.generated_tokens = run.generated_tokens;
    if (!run.ok) throw Error(ErrorCode::kInvalidArgument, run.error);
    out.plan = parse_plan(run.text, fmt::format("planner '{}'", expert), vocabulary);
    out.source = "model";
  } catch (const Error& e) {
    out.fallback_reason = e.what();
    out.plan = decompose(question);
    out.source = "rules";
  }
  return out;
}

}  // namespace chorus::graph
