// Plans made without a planner model.
//  - trivial_plan: one node whose prompt is the question, routed.
//  - decompose: splits multi-sentence inputs ("X? Y?"), conjunctions ("do X
//    and do Y") and enumerations ("a story about A, B and C") into sibling
//    routed nodes q1..qN plus a final `join` node that lists their answers;
//    a question with nothing to split gives the trivial plan.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/plan.h"

namespace chorus::graph {

Plan trivial_plan();

// The sub-questions decompose() would make (one element: nothing to split).
std::vector<std::string> split_question(std::string_view question);

Plan decompose(std::string_view question);

}  // namespace chorus::graph
