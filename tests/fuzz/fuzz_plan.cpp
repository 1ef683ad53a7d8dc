// libFuzzer target for plan JSON through its real parser and validator
// (parse_plan, as `ask --plan` and `bench compose --plan` read it): any input
// must parse or throw chorus::Error. A plan that parses must survive the trip
// through to_json and JSON text (the bytes `ask --json` prints) and parse again
// to the same nodes, and the executor's templates must render for it.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "graph/plan.h"
#include "graph/prompt_template.h"
#include "models/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chorus::graph;
  static const PlanVocabulary vocabulary{{"smollm2", "stories260K", "join"}, {"general", "stories", "dreams"}};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Plan plan;
  try {
    plan = parse_plan(text, "fuzz.json", vocabulary);
  } catch (const chorus::Error&) {
    return 0;
  }
  // Valid plans: printed as JSON (invalid UTF-8 in a prompt must not abort) and read back.
  const std::string printed = chorus::models::json_text(to_json(plan), 2);
  // (The JSON parser refuses ill-formed UTF-8, so every string in a parsed plan is
  // valid and the printed text must be the same plan.)
  Plan again;
  try {
    again = parse_plan(printed, "again.json", vocabulary);
  } catch (const chorus::Error&) {
    __builtin_trap();
  }
  if (again.nodes.size() != plan.nodes.size()) __builtin_trap();
  for (const PlanNode& n : plan.nodes) {
    try {
      static volatile size_t sink;
      sink = render_template(n.prompt, "a question {{node:x}}", [](const std::string& id) { return "<" + id + ">"; }).size();
    } catch (const chorus::Error&) {
    }
  }
  return 0;
}
