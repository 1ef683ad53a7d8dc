#include "graph/decomposer.h"

#include <cctype>
#include <set>

#include <fmt/format.h>

namespace chorus::graph {

namespace {

// Three or more items, those after the first this short (in words), make an
// enumeration that shares the first part's head ("about a cat, a dog and a
// bird"); two short items ("salt and pepper") stay together.
constexpr size_t kMaxEnumerationItemWords = 3;
// A conjunction splits only when every clause is at least this long, so that
// "salt and pepper" inside one request stays together.
constexpr size_t kMinClauseWords = 3;

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t b = s.find_first_not_of(' ', pos);
    if (b == std::string_view::npos) break;
    const size_t e = s.find(' ', b);
    out.emplace_back(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    pos = e == std::string_view::npos ? s.size() : e;
  }
  return out;
}

std::string join_words(const std::vector<std::string>& w, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) out += (out.empty() ? "" : " ") + w[i];
  return out;
}

// Splits into sentences at ".", "!" or "?" followed by a space and a capital
// letter ("X? Y?", "Do X. Do Y."); each keeps its end punctuation.
std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    const bool end = text[i] == '.' || text[i] == '!' || text[i] == '?';
    if (!end || text[i + 1] != ' ' || !std::isupper(static_cast<unsigned char>(text[i + 2]))) continue;
    if (std::string part = trim(text.substr(start, i + 1 - start)); !part.empty()) parts.push_back(part);
    start = i + 1;
  }
  if (std::string rest = trim(text.substr(start)); !rest.empty()) parts.push_back(rest);
  return parts;
}

// Splits at ", and ", " and ", ", " (whole words only).
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  const std::vector<std::string> w = words(text);
  auto flush = [&] {
    if (std::string t = trim(current); !t.empty()) parts.push_back(t);
    current.clear();
  };
  for (const std::string& word : w) {
    if (word == "and") {
      flush();
      continue;
    }
    const bool comma = word.size() > 1 && word.back() == ',';
    current += (current.empty() ? "" : " ") + (comma ? word.substr(0, word.size() - 1) : word);
    if (comma) flush();
  }
  flush();
  return parts;
}

// Trailing sentence punctuation of the whole request, to put back on each part.
std::pair<std::string, std::string> strip_end_punctuation(std::string_view s) {
  std::string body = trim(s);
  std::string end;
  while (!body.empty() && (body.back() == '.' || body.back() == '!' || body.back() == '?')) {
    end.insert(end.begin(), body.back());
    body.pop_back();
  }
  return {body, end};
}

// The request's end punctuation for one of its parts: a question mark only on a
// part that asks ("Write a function, and what is X?" gives "Write a function." and
// "what is X?").
std::string end_for(const std::string& part, const std::string& end) {
  if (end.find('?') == std::string::npos) return end;
  static const std::set<std::string> kAsking = {"what", "who", "whom", "whose", "where", "when", "why", "how",
                                                "which", "is", "are", "was", "were", "do", "does", "did", "can",
                                                "could", "would", "should", "will", "shall", "may", "has", "have"};
  const std::vector<std::string> w = words(part);
  std::string first = w.empty() ? "" : w.front();
  for (char& c : first) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kAsking.count(first) ? end : ".";
}

std::vector<std::string> split_conjunction(std::string_view sentence) {
  const auto [body, end] = strip_end_punctuation(sentence);
  const std::vector<std::string> parts = split_list(body);
  if (parts.size() < 2) return {trim(sentence)};
  bool short_items = true, long_clauses = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t n = words(parts[i]).size();
    if (i > 0 && n > kMaxEnumerationItemWords) short_items = false;
    if (n < kMinClauseWords) long_clauses = false;
  }
  std::vector<std::string> out;
  if (short_items && parts.size() >= 3) {
    // Enumeration: the first part is "<head> <item>", where the first item is
    // as long as the last one.
    const std::vector<std::string> first = words(parts[0]);
    const size_t item_words = words(parts.back()).size();
    if (first.size() <= item_words) return {trim(sentence)};
    const std::string head = join_words(first, 0, first.size() - item_words);
    out.push_back(parts[0] + end_for(parts[0], end));
    for (size_t i = 1; i < parts.size(); ++i) out.push_back(head + " " + parts[i] + end_for(head, end));
  } else if (long_clauses) {
    for (const std::string& p : parts) out.push_back(p + end_for(p, end));
  } else {
    return {trim(sentence)};
  }
  return out;
}

// A sub-question becomes a template: keep it from reading as a placeholder.
std::string escape_braces(std::string s) {
  for (size_t pos = 0; (pos = s.find("{{", pos)) != std::string::npos;) s.replace(pos, 2, "{ {");
  return s;
}

}  // namespace

namespace {

// A node the router assigns an expert to.
PlanNode routed_node(std::string id, std::string prompt) {
  PlanNode n;
  n.id = std::move(id);
  n.prompt = std::move(prompt);
  return n;
}

}  // namespace

Plan trivial_plan() { return Plan{{routed_node("answer", "{{question}}")}}; }

std::vector<std::string> split_question(std::string_view question) {
  std::vector<std::string> out;
  for (const std::string& q : split_sentences(question))
    for (std::string& part : split_conjunction(q)) out.push_back(std::move(part));
  if (out.empty()) out.push_back(trim(question));
  return out;
}

Plan decompose(std::string_view question) {
  const std::vector<std::string> parts = split_question(question);
  if (parts.size() < 2) return trivial_plan();
  Plan plan;
  PlanNode answer = routed_node("answer", "");
  answer.expert = kJoinExpert;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string id = fmt::format("q{}", i + 1);
    const std::string sub_question = escape_braces(parts[i]);
    plan.nodes.push_back(routed_node(id, sub_question));
    answer.deps.push_back(id);
    answer.prompt += fmt::format("{}{}\n{{{{node:{}}}}}", i == 0 ? "" : "\n\n", sub_question, id);
  }
  plan.nodes.push_back(std::move(answer));
  return plan;
}

}  // namespace chorus::graph
