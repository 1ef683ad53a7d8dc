// Node prompt templates: {{question}} is the user's question and {{node:ID}}
// the output of node ID. Anything else between {{ and }} is an error, as is
// an unclosed {{.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::graph {

// The node ids a template refers to, in order of first use; throws
// chorus::Error (kInvalidArgument) for a malformed placeholder.
std::vector<std::string> referenced_nodes(std::string_view tmpl);

// Substitutes the question and each referenced node's output (node_output(id)).
std::string render_template(std::string_view tmpl, std::string_view question,
                            const std::function<std::string(const std::string&)>& node_output);

}  // namespace chorus::graph
