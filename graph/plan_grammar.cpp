#include "graph/plan_grammar.h"

#include <set>

namespace chorus::graph {

namespace {

// A GBNF literal for a name: quotes and backslashes escaped.
std::string literal(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string one_of(const std::set<std::string>& names) {
  if (names.empty()) return "[A-Za-z0-9_-]+";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : " | ") + literal(n);
  return out;
}

}  // namespace

std::string plan_grammar(const PlanVocabulary& vocabulary) {
  std::set<std::string> experts = vocabulary.experts;
  if (!experts.empty()) experts.insert(kJoinExpert);
  return R"G(# A composition plan (docs/composition.md) on one line, keys in a fixed order.
root     ::= "{\"nodes\": [" node (", " node)* "]}"
node     ::= "{\"id\": \"" id "\", \"prompt\": \"" text "\", " who? "\"deps\": [" deps? "]}"
who      ::= "\"expert\": \"" expert "\", " | "\"category\": \"" category "\", "
deps     ::= "\"" id "\"" (", \"" id "\"")*
id       ::= [a-z] [a-z0-9_]*
# Prompt text: JSON string characters; braces only in placeholders.
text     ::= (char | "{{question}}" | "{{node:" id "}}")+
char     ::= [^"\\{}\x00-\x1F] | "\\" ["\\/nt]
expert   ::= )G" + one_of(experts) + "\ncategory ::= " + one_of(vocabulary.categories) + "\n";
}

}  // namespace chorus::graph
