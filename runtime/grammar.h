// A context-free grammar in the GBNF notation of llama.cpp, compiled to flat
// alternatives of code-point classes and rule references:
//
//   root  ::= "{" ws pair ("," ws pair)* "}"     # rules, literals, sequences
//   pair  ::= [a-z_]+ ":" ws ( value | "null" )   # classes, groups, alternatives
//   ws    ::= [ \t\n]*                            # repetition * + ?
//   value ::= "\"" [^"\\]* "\""                   # negated classes, escapes
//
// Groups and repetitions become generated rules, so the compiled grammar has
// only sequences. The recognizer that runs it is runtime/grammar_state.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::runtime {

// A set of Unicode code points: inclusive ranges, or everything outside them.
struct CharClass {
  struct Range {
    uint32_t lo, hi;
  };
  std::vector<Range> ranges;
  bool negated = false;

  bool contains(uint32_t cp) const;
  // True when some code point in [lo, hi] is in the class.
  bool intersects(uint32_t lo, uint32_t hi) const;
};

class Grammar {
 public:
  // One element of a sequence; kEnd closes every alternative.
  struct Element {
    enum class Kind : uint8_t { kEnd, kChar, kRule };
    Kind kind;
    int32_t index;  // a class (kChar) or a rule (kRule)
  };

  // Parses GBNF text; `source` names it in errors ("plan.gbnf:3:14: expected ...").
  // Also rejects references to undefined rules, a missing `root`, and left
  // recursion (a rule that can reach itself without reading a character).
  // Throws chorus::Error (kInvalidArgument).
  static Grammar parse(std::string_view text, const std::string& source = "grammar");
  // Reads and parses a file; throws chorus::Error (kIo) when it cannot be read.
  static Grammar load(const std::string& path);

  int32_t root() const { return root_; }
  int32_t rule_count() const { return static_cast<int32_t>(rule_names_.size()); }
  const std::string& rule_name(int32_t rule) const { return rule_names_[rule]; }
  // Positions (indices into elements()) where the rule's alternatives start.
  const std::vector<int32_t>& alternatives(int32_t rule) const { return alternatives_[rule]; }
  const Element& at(int32_t position) const { return elements_[position]; }
  const CharClass& char_class(int32_t index) const { return classes_[index]; }

 private:
  friend class GrammarBuilder;

  std::vector<std::string> rule_names_;
  std::vector<std::vector<int32_t>> alternatives_;
  std::vector<Element> elements_;
  std::vector<CharClass> classes_;
  int32_t root_ = -1;
};

}  // namespace chorus::runtime
