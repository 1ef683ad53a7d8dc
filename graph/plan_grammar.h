// The GBNF grammar of a plan (graph/plan.h) as a planner model writes it: one
// line of JSON with a fixed key order ("id", "prompt", then "expert" or
// "category" or neither, then "deps"), ids of [a-z][a-z0-9_]*, and prompts in
// which braces appear only as {{question}} or {{node:ID}}. With names, the
// experts and categories are exactly those; without, any [A-Za-z0-9_-]+.
// configs/grammars/plan.gbnf is plan_grammar({}) (a test keeps them equal).
#pragma once

#include <string>

#include "graph/plan.h"

namespace chorus::graph {

std::string plan_grammar(const PlanVocabulary& vocabulary);

}  // namespace chorus::graph
