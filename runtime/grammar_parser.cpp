// GBNF text -> Grammar. A recursive-descent parser over the text; groups and
// repetitions become generated rules named after their rule ("pair_2").
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/file_kind.h"
#include "runtime/grammar.h"

namespace chorus::runtime {

using Element = Grammar::Element;
using Sequence = std::vector<Element>;

class GrammarBuilder {
 public:
  GrammarBuilder(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Grammar build() {
    skip_space(true);
    while (pos_ < text_.size()) {
      parse_rule();
      skip_space(true);
    }
    for (const auto& [rule, at] : first_use_)
      if (!defined_[rule]) fail_at(at, fmt::format("undefined rule '{}'", g_.rule_names_[rule]));
    const auto root = ids_.find("root");
    if (root == ids_.end() || !defined_[root->second]) fail_at(text_.size(), "the grammar has no 'root' rule");
    g_.root_ = root->second;
    reject_left_recursion();
    for (const auto& alternatives : rules_) {
      g_.alternatives_.emplace_back();
      for (const Sequence& seq : alternatives) {
        g_.alternatives_.back().push_back(static_cast<int32_t>(g_.elements_.size()));
        g_.elements_.insert(g_.elements_.end(), seq.begin(), seq.end());
        g_.elements_.push_back({Element::Kind::kEnd, 0});
      }
    }
    return std::move(g_);
  }

 private:
  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    const std::string_view before = text_.substr(0, std::min(at, text_.size()));
    const size_t line = 1 + std::count(before.begin(), before.end(), '\n');
    const size_t line_start = before.rfind('\n');
    const size_t column = 1 + at - (line_start == std::string_view::npos ? 0 : line_start + 1);
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}:{}:{}: {}", source_, line, column, what));
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }
  std::string describe_here() const {
    if (at_end()) return "the end of the grammar";
    if (peek() == '\n') return "the end of the line";
    return fmt::format("'{}'", peek());
  }

  // Spaces, tabs and comments; newlines too when newline_ok.
  void skip_space(bool newline_ok) {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || (c == '\n' && newline_ok)) {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name(const char* what) {
    const size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    if (pos_ == start) fail(fmt::format("expected {}, found {}", what, describe_here()));
    return std::string(text_.substr(start, pos_ - start));
  }

  int32_t rule_id(const std::string& name) {
    const auto [it, fresh] = ids_.emplace(name, static_cast<int32_t>(g_.rule_names_.size()));
    if (fresh) {
      g_.rule_names_.push_back(name);
      rules_.emplace_back();
      defined_.push_back(false);
    }
    return it->second;
  }

  int32_t generated_rule(const std::string& parent, std::vector<Sequence> alternatives) {
    const int32_t id = rule_id(fmt::format("{}_{}", parent, ++generated_));
    rules_[id] = std::move(alternatives);
    defined_[id] = true;
    return id;
  }

  void parse_rule() {
    const size_t start = pos_;
    rule_ = parse_name("a rule name");
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") fail(fmt::format("expected '::=' after the rule name '{}', found {}", rule_, describe_here()));
    pos_ += 3;
    skip_space(true);
    const int32_t id = rule_id(rule_);
    if (defined_[id]) fail_at(start, fmt::format("rule '{}' is defined twice", rule_));
    std::vector<Sequence> alternatives = parse_alternatives(false);
    rules_[id] = std::move(alternatives);
    defined_[id] = true;
    if (!at_end() && peek() != '\n') fail(fmt::format("expected the end of the line after rule '{}', found {}", rule_, describe_here()));
  }

  std::vector<Sequence> parse_alternatives(bool nested) {
    std::vector<Sequence> alternatives{parse_sequence(nested)};
    while (peek() == '|') {
      ++pos_;
      skip_space(true);
      alternatives.push_back(parse_sequence(nested));
    }
    return alternatives;
  }

  Sequence parse_sequence(bool nested) {
    Sequence seq;
    size_t item_start = 0;  // where the last item (what a repetition applies to) begins
    bool have_item = false;
    for (;;) {
      const char c = peek();
      const size_t before = seq.size();
      if (c == '"') {
        ++pos_;
        while (peek() != '"') {
          if (at_end() || peek() == '\n') fail("expected '\"' to close the string");
          const uint32_t cp = parse_char();
          seq.push_back(char_element({{{cp, cp}}, false}));
        }
        ++pos_;
      } else if (c == '[') {
        ++pos_;
        seq.push_back(char_element(parse_class()));
      } else if (c == '.') {
        ++pos_;
        seq.push_back(char_element({{}, true}));
      } else if (c == '(') {
        // Each level is a C++ call here and a generated rule the recognizer descends through.
        if (++group_depth_ > kMaxGroupDepth) fail(fmt::format("groups nest more than {} deep", kMaxGroupDepth));
        ++pos_;
        skip_space(true);
        std::vector<Sequence> group = parse_alternatives(true);
        if (peek() != ')') fail(fmt::format("expected ')' to close the group, found {}", describe_here()));
        ++pos_;
        --group_depth_;
        seq.push_back({Element::Kind::kRule, generated_rule(rule_, std::move(group))});
      } else if (is_name_char(c)) {
        const size_t at = pos_;
        const int32_t id = rule_id(parse_name("a rule name"));
        first_use_.emplace(id, at);
        seq.push_back({Element::Kind::kRule, id});
      } else if (c == '*' || c == '+' || c == '?') {
        if (!have_item) fail(fmt::format("'{}' has nothing to repeat", c));
        ++pos_;
        Sequence item(seq.begin() + static_cast<std::ptrdiff_t>(item_start), seq.end());
        seq.resize(item_start);
        const int32_t id = rule_id(fmt::format("{}_{}", rule_, ++generated_));
        const Element self{Element::Kind::kRule, id};
        Sequence again = item;
        again.push_back(self);
        if (c == '*') rules_[id] = {again, {}};
        if (c == '+') rules_[id] = {again, item};
        if (c == '?') rules_[id] = {item, {}};
        defined_[id] = true;
        seq.push_back(self);
        have_item = false;  // "x**" repeats nothing new
        skip_space(nested);
        continue;
      } else {
        break;
      }
      item_start = before;
      have_item = true;
      skip_space(nested);
    }
    if (nested && at_end()) fail("expected ')' to close the group, found the end of the grammar");
    return seq;
  }

  Element char_element(CharClass cls) {
    g_.classes_.push_back(std::move(cls));
    return {Element::Kind::kChar, static_cast<int32_t>(g_.classes_.size() - 1)};
  }

  CharClass parse_class() {
    CharClass cls;
    if (peek() == '^') {
      cls.negated = true;
      ++pos_;
    }
    while (peek() != ']') {
      if (at_end() || peek() == '\n') fail("expected ']' to close the character class");
      const size_t at = pos_;
      const uint32_t lo = parse_char();
      uint32_t hi = lo;
      if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
        ++pos_;
        hi = parse_char();
        if (hi < lo) fail_at(at, fmt::format("the range U+{:04X}-U+{:04X} is empty", lo, hi));
      }
      cls.ranges.push_back({lo, hi});
    }
    ++pos_;
    return cls;
  }

  // One character of a literal or class: an escape, or one UTF-8 code point.
  uint32_t parse_char() {
    const size_t at = pos_;
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(text_[i]); };
    if (peek() != '\\') {
      const uint8_t lead = byte(pos_);
      const int len = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
      if (len == 0 || pos_ + len > text_.size()) fail("invalid UTF-8 in the grammar");
      uint32_t cp = len == 1 ? lead : lead & (0x7F >> len);
      for (int i = 1; i < len; ++i) {
        if ((byte(pos_ + i) & 0xC0) != 0x80) fail("invalid UTF-8 in the grammar");
        cp = (cp << 6) | (byte(pos_ + i) & 0x3F);
      }
      pos_ += len;
      return cp;
    }
    ++pos_;
    const char e = peek();
    ++pos_;
    switch (e) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/': return static_cast<uint8_t>(e);
      case 'x': return parse_hex(2, at);
      case 'u': return parse_hex(4, at);
      case 'U': return parse_hex(8, at);
      default: fail_at(at, e == '\0' ? "expected an escape after '\\'" : fmt::format("unknown escape '\\{}'", e));
    }
  }

  uint32_t parse_hex(int digits, size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail(fmt::format("expected {} hex digits in the escape", digits));
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (v > 0x10FFFF) fail_at(at, fmt::format("U+{:X} is beyond Unicode", v));
    return v;
  }

  // A rule that reaches itself through leftmost elements that can match the
  // empty string would make the recognizer loop forever; a chain of such
  // references thousands long would overflow its (recursive) expansion. The
  // walk is iterative so that a long chain of rules cannot overflow it either.
  void reject_left_recursion() {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& seq : rules_[r])
          if (std::all_of(seq.begin(), seq.end(),
                          [&](const Element& e) { return e.kind == Element::Kind::kRule && nullable[e.index]; })) {
            nullable[r] = changed = true;
            break;
          }
      }
    }
    // The rules each rule can descend into before reading a character.
    std::vector<std::vector<int32_t>> leftmost(n);
    for (size_t r = 0; r < n; ++r)
      for (const Sequence& seq : rules_[r])
        for (const Element& e : seq) {
          if (e.kind != Element::Kind::kRule) break;
          leftmost[r].push_back(e.index);
          if (!nullable[e.index]) break;
        }
    std::vector<int> state(n, 0);  // 0 unvisited, 1 on the path, 2 done
    std::vector<size_t> depth(n, 1);  // the longest leftmost chain from the rule, itself included
    struct Frame {
      size_t rule, next;  // the next leftmost child to look at
    };
    std::vector<Frame> path;
    for (size_t start = 0; start < n; ++start) {
      if (state[start] != 0) continue;
      state[start] = 1;
      path.push_back({start, 0});
      while (!path.empty()) {
        Frame& f = path.back();
        if (f.next == leftmost[f.rule].size()) {
          state[f.rule] = 2;
          const size_t d = depth[f.rule];
          path.pop_back();
          if (!path.empty()) depth[path.back().rule] = std::max(depth[path.back().rule], d + 1);
          continue;
        }
        const auto child = static_cast<size_t>(leftmost[f.rule][f.next++]);
        if (state[child] == 1)
          fail_at(text_.size(), fmt::format("rule '{}' is left-recursive: it can reach itself without reading a character",
                                            g_.rule_names_[child]));
        if (state[child] == 2) {
          depth[f.rule] = std::max(depth[f.rule], depth[child] + 1);
        } else {
          state[child] = 1;
          path.push_back({child, 0});
        }
      }
    }
    for (size_t r = 0; r < n; ++r)
      if (depth[r] > kMaxRuleDepth)
        fail_at(text_.size(), fmt::format("rule '{}' descends through {} rules before reading a character (at most {})",
                                          g_.rule_names_[r], depth[r], kMaxRuleDepth));
  }

  // Far beyond any real grammar (llama.cpp's json.gbnf nests 3 deep), far below a stack overflow.
  static constexpr int kMaxGroupDepth = 256;
  static constexpr size_t kMaxRuleDepth = 1024;

  std::string_view text_;
  std::string source_;
  size_t pos_ = 0;
  int group_depth_ = 0;
  std::string rule_;  // the rule being parsed
  int generated_ = 0;
  Grammar g_;
  std::map<std::string, int32_t> ids_;
  std::vector<std::vector<Sequence>> rules_;
  std::vector<bool> defined_;
  std::map<int32_t, size_t> first_use_;  // rule -> where it was first referenced
};

Grammar Grammar::parse(std::string_view text, const std::string& source) { return GrammarBuilder(text, source).build(); }

Grammar Grammar::load(const std::string& path) { return parse(models::read_whole_file(path, "grammar file"), path); }

bool CharClass::contains(uint32_t cp) const { return intersects(cp, cp); }

bool CharClass::intersects(uint32_t lo, uint32_t hi) const {
  if (!negated) {
    for (const Range& r : ranges)
      if (r.lo <= hi && lo <= r.hi) return true;
    return false;
  }
  // Some point of [lo, hi] lies outside every range: walk lo up past covering ranges.
  for (bool moved = true; moved && lo <= hi;) {
    moved = false;
    for (const Range& r : ranges)
      if (r.lo <= lo && lo <= r.hi) {
        if (r.hi >= hi) return false;
        lo = r.hi + 1;
        moved = true;
      }
  }
  return lo <= hi;
}

}  // namespace chorus::runtime
