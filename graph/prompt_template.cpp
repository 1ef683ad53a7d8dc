#include "graph/prompt_template.h"

#include <algorithm>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::graph {

namespace {

constexpr std::string_view kNodePrefix = "node:";

// Calls on_text for literal runs and on_question / on_node for placeholders.
template <typename Text, typename Question, typename Node>
void walk(std::string_view tmpl, Text on_text, Question on_question, Node on_node) {
  size_t pos = 0;
  while (pos < tmpl.size()) {
    const size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      on_text(tmpl.substr(pos));
      return;
    }
    on_text(tmpl.substr(pos, open - pos));
    const size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos)
      throw Error(ErrorCode::kInvalidArgument, fmt::format("unclosed '{{{{' at offset {}", open));
    const std::string_view name = tmpl.substr(open + 2, close - open - 2);
    if (name == "question") {
      on_question();
    } else if (name.starts_with(kNodePrefix) && name.size() > kNodePrefix.size()) {
      on_node(std::string(name.substr(kNodePrefix.size())));
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("unknown placeholder '{{{{{}}}}}' (known: {{{{question}}}}, {{{{node:ID}}}})", name));
    }
    pos = close + 2;
  }
}

}  // namespace

std::vector<std::string> referenced_nodes(std::string_view tmpl) {
  std::vector<std::string> ids;
  walk(tmpl, [](std::string_view) {}, [] {},
       [&](const std::string& id) {
         if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
       });
  return ids;
}

std::string render_template(std::string_view tmpl, std::string_view question,
                            const std::function<std::string(const std::string&)>& node_output) {
  std::string out;
  walk(tmpl, [&](std::string_view text) { out += text; }, [&] { out += question; },
       [&](const std::string& id) { out += node_output(id); });
  return out;
}

}  // namespace chorus::graph
