// The GBNF grammar parser, the pushdown recognizer, token masks against brute
// force, and random walks under masks (plan grammar included).
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "graph/plan.h"
#include "graph/plan_grammar.h"
#include "models/tokenizer.h"
#include "runtime/grammar.h"
#include "runtime/grammar_mask.h"
#include "runtime/grammar_state.h"
#include "test_paths.h"

namespace chorus {
namespace {

using runtime::Grammar;
using runtime::GrammarState;
using runtime::TokenTrie;

std::shared_ptr<const Grammar> grammar(const std::string& text) {
  return std::make_shared<const Grammar>(Grammar::parse(text, "g"));
}

std::string parse_error(const std::string& text) {
  try {
    Grammar::parse(text, "g");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "(parsed)";
}

bool matches(const std::shared_ptr<const Grammar>& g, const std::string& input) {
  GrammarState s(g);
  return s.accept(input) && s.is_complete();
}

TEST(GrammarParser, ErrorsNameLineColumnAndWhatWasExpected) {
  EXPECT_EQ(parse_error("root ::= \"a\"\nx = \"b\""), "g:2:3: expected '::=' after the rule name 'x', found '='");
  EXPECT_EQ(parse_error("root ::= \"abc"), "g:1:14: expected '\"' to close the string");
  EXPECT_EQ(parse_error("root ::= [a-z"), "g:1:14: expected ']' to close the character class");
  EXPECT_EQ(parse_error("root ::= (\"a\" | \"b\""), "g:1:20: expected ')' to close the group, found the end of the grammar");
  EXPECT_EQ(parse_error("root ::= \"a\" )"), "g:1:14: expected the end of the line after rule 'root', found ')'");
  EXPECT_EQ(parse_error("root ::= * \"a\""), "g:1:10: '*' has nothing to repeat");
  EXPECT_EQ(parse_error("root ::= [z-a]"), "g:1:11: the range U+007A-U+0061 is empty");
  EXPECT_EQ(parse_error("root ::= \"\\q\""), "g:1:11: unknown escape '\\q'");
  EXPECT_EQ(parse_error("root ::= \"\\x4\""), "g:1:14: expected 2 hex digits in the escape");
  EXPECT_EQ(parse_error("root ::= item\n"), "g:1:10: undefined rule 'item'");
  EXPECT_EQ(parse_error("item ::= \"a\""), "g:1:13: the grammar has no 'root' rule");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""), "g:2:1: rule 'root' is defined twice");
  EXPECT_EQ(parse_error("root ::= x \"a\"\nx ::= y?\ny ::= root"),
            "g:3:11: rule 'root' is left-recursive: it can reach itself without reading a character");
  EXPECT_EQ(parse_error("::= \"a\""), "g:1:1: expected a rule name, found ':'");
}

TEST(GrammarRecognizer, AcceptsAndRejectsExactStrings) {
  const auto g = grammar(R"(# a comment
root  ::= "{" pair ("," pair)* "}"   # trailing comment
pair  ::= key ":" (num | str | "null")
key   ::= [a-z_]+
num   ::= "-"? [0-9]+
str   ::= "\"" ([^"\\] | "\\" ["\\n])* "\""
)");
  for (const char* ok : {"{a:1}", "{a:-12,b_c:null}", "{s:\"\"}", "{s:\"x\\\"y\\n\"}", "{s:\"héllo ✓ 😀\"}"})
    EXPECT_TRUE(matches(g, ok)) << ok;
  for (const char* bad : {"", "{", "{a:}", "{A:1}", "{a:1,}", "{a:--1}", "{s:\"\\q\"}", "{a:1}}", "{s:\"a}"})
    EXPECT_FALSE(matches(g, bad)) << bad;

  GrammarState s(g);
  EXPECT_TRUE(s.accept("{a:1"));
  EXPECT_FALSE(s.is_complete());
  EXPECT_TRUE(s.can_accept("}"));
  EXPECT_FALSE(s.can_accept("x"));
  EXPECT_FALSE(s.accept("1x"));  // rejected: the state is as it was
  EXPECT_TRUE(s.accept("2}"));
  EXPECT_TRUE(s.is_complete());
  EXPECT_FALSE(s.can_continue());
}

// Found by fuzz_grammar: nested repetitions keep exponentially many parses
// alive; reading must stop with an error, not run out of time or memory.
TEST(GrammarRecognizer, TooAmbiguousAGrammarIsAnErrorNotAHang) {
  const auto g = grammar("root ::= item+\nitem ::= \"(\" root* \")\" | \"a\"\n");
  GrammarState ok(g);
  EXPECT_TRUE(ok.accept("(a)(a(a))"));
  GrammarState s(g);
  try {
    for (int i = 0; i < 200; ++i) s.accept("(");
    FAIL() << "200 nested parentheses stayed under the ambiguity bound";
  } catch (const chorus::Error& e) {
    EXPECT_EQ(e.code(), chorus::ErrorCode::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("too ambiguous"), std::string::npos) << e.what();
  }
}

TEST(GrammarRecognizer, ReadsCodePointsByteByByte) {
  const auto g = grammar("root ::= [α-ω]+ \".\"");  // Greek small letters: two bytes each
  GrammarState s(g);
  EXPECT_TRUE(s.accept("\xCE"));   // first byte of U+03B1..U+03BF
  EXPECT_FALSE(s.is_complete());
  EXPECT_TRUE(s.accept("\xB1"));   // α
  EXPECT_FALSE(s.can_accept("\xC3"));  // U+00C0..: no Greek letter starts so
  EXPECT_FALSE(s.can_accept("\x80"));  // a stray continuation byte
  EXPECT_TRUE(s.accept("ω."));
  EXPECT_TRUE(s.is_complete());
  EXPECT_TRUE(matches(grammar("root ::= [^a]"), "\xF0\x9F\x98\x80"));
  // Overlong forms and surrogates are not code points: "\xE0\x80\xA2" is no '"'.
  EXPECT_FALSE(GrammarState(grammar("root ::= \"\\\"\"")).can_accept("\xE0"));
  EXPECT_FALSE(matches(grammar("root ::= [^a]"), "\xC1\x81"));
  EXPECT_FALSE(matches(grammar("root ::= [^a]"), "\xED\xA0\x80"));
  EXPECT_TRUE(matches(grammar("root ::= \"\\u00e9\\x41\" ."), "éAz"));
  EXPECT_FALSE(matches(grammar("root ::= [^\\x00-\\U0010FFFF]"), "a"));
}

// A vocabulary of given pieces; ids listed as control stand for no text.
class FakeTokenizer final : public models::Tokenizer {
 public:
  FakeTokenizer(std::vector<std::string> pieces, int32_t eos, std::vector<int32_t> control)
      : pieces_(std::move(pieces)), eos_(eos), control_(std::move(control)) {}
  std::vector<int32_t> encode(std::string_view, bool, bool) const override { return {}; }
  std::vector<int32_t> encode_with_special_ranges(std::string_view, bool, std::span<const models::ByteRange>) const override {
    return {};
  }
  std::string token_to_piece(int32_t id) const override { return pieces_.at(id); }
  std::string decode(std::span<const int32_t>) const override { return ""; }
  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const override { return -1; }
  int32_t eos_id() const override { return eos_; }
  bool adds_bos() const override { return false; }
  bool is_end_of_generation(int32_t id) const override { return id == eos_; }
  bool is_control(int32_t id) const override {
    return id == eos_ || std::find(control_.begin(), control_.end(), id) != control_.end();
  }
  bool adds_space_prefix() const override { return false; }
  std::optional<int32_t> find_token(std::string_view) const override { return std::nullopt; }

 private:
  std::vector<std::string> pieces_;
  int32_t eos_;
  std::vector<int32_t> control_;
};

// The brute-force mask: each token's bytes tried on a copy of the state.
std::vector<uint8_t> brute_force(const GrammarState& s, const models::Tokenizer& tok) {
  std::vector<uint8_t> allowed(tok.vocab_size(), 0);
  for (int32_t t = 0; t < tok.vocab_size(); ++t) {
    if (tok.is_end_of_generation(t)) allowed[t] = s.is_complete();
    else if (!tok.is_control(t) && !tok.token_to_piece(t).empty()) allowed[t] = s.can_accept(tok.token_to_piece(t));
  }
  return allowed;
}

// Random pieces over the alphabet, plus each single character, a split two-byte
// character, EOS and a control token.
FakeTokenizer random_vocabulary(std::mt19937& rng, const std::vector<std::string>& alphabet, int n) {
  std::vector<std::string> pieces = alphabet;
  pieces.push_back("\xC3");
  pieces.push_back("\xA9");
  for (int i = 0; i < n; ++i) {
    std::string p;
    const int len = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < len; ++k) p += alphabet[rng() % alphabet.size()];
    pieces.push_back(p);
  }
  pieces.push_back("</s>");
  pieces.push_back("<|im_start|>");
  const int32_t eos = static_cast<int32_t>(pieces.size()) - 2;
  return FakeTokenizer(pieces, eos, {eos + 1});
}

const std::vector<std::string> kJsonAlphabet = {"{", "}", "[", "]", "\"", ":", ",", " ", "a", "b", "z", "_", "0",
                                                "7", "\\", "n", "é", "\n", "{{", "}}", "question", "node:", "-", "x"};

TEST(GrammarMask, EqualsBruteForceAtEveryStep) {
  const auto g = grammar(R"(root ::= "{" ws (pair ("," ws pair)*)? ws "}"
pair ::= "\"" [a-z_]+ "\"" ws ":" ws value
value ::= [0-9]+ | "\"" ([^"\\] | "\\n")* "\"" | "[" ws "]"
ws ::= [ \n]*)");
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    const FakeTokenizer tok = random_vocabulary(rng, kJsonAlphabet, 300);
    const TokenTrie trie(tok);
    GrammarState s(g);
    std::vector<uint8_t> allowed;
    for (int step = 0; step < 60; ++step) {
      trie.allowed_tokens(s, allowed);
      ASSERT_EQ(allowed, brute_force(s, tok)) << "round " << round << " step " << step;
      std::vector<int32_t> choices;
      for (int32_t t = 0; t < tok.vocab_size(); ++t)
        if (allowed[t] && !tok.is_end_of_generation(t)) choices.push_back(t);
      if (choices.empty()) break;
      ASSERT_TRUE(s.accept(tok.token_to_piece(choices[rng() % choices.size()])));
    }
  }
}

TEST(GrammarMask, MaskLogitsKeepsOnlyAllowed) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  EXPECT_EQ(runtime::mask_logits(logits, {1, 0, 1}), 2);
  EXPECT_EQ(logits[0], 1.0f);
  EXPECT_TRUE(std::isinf(logits[1]) && logits[1] < 0);
  EXPECT_EQ(logits[2], 3.0f);
  EXPECT_THROW(runtime::mask_logits(logits, {1, 0}), Error);
}

// Random allowed tokens until EOS (taken whenever allowed, half the time);
// returns the text, or nullopt when the walk did not finish in max_steps.
std::optional<std::string> random_walk(const std::shared_ptr<const Grammar>& g, const FakeTokenizer& tok,
                                       const TokenTrie& trie, std::mt19937& rng, int max_steps) {
  GrammarState s(g);
  std::string text;
  std::vector<uint8_t> allowed;
  for (int step = 0; step < max_steps; ++step) {
    trie.allowed_tokens(s, allowed);
    if (allowed[tok.eos_id()] && rng() % 2 == 0) return text;
    std::vector<int32_t> choices;
    for (int32_t t = 0; t < tok.vocab_size(); ++t)
      if (allowed[t] && t != tok.eos_id()) choices.push_back(t);
    if (choices.empty()) {
      EXPECT_TRUE(s.is_complete()) << "a dead end after: " << text;
      return s.is_complete() ? std::optional<std::string>(text) : std::nullopt;
    }
    const std::string piece = tok.token_to_piece(choices[rng() % choices.size()]);
    EXPECT_TRUE(s.accept(piece));
    text += piece;
  }
  return std::nullopt;
}

TEST(GrammarMask, RandomWalksAlwaysYieldAcceptedText) {
  const auto g = grammar(R"(root ::= item (", " item)*
item ::= [a-z]+ | "[" [0-9]* "]" | "é"+)");
  std::mt19937 rng(11);
  int finished = 0;
  for (int walk = 0; walk < 100; ++walk) {
    const FakeTokenizer tok = random_vocabulary(rng, {"a", "z", "[", "]", "0", "9", ",", " ", ", ", "é"}, 80);
    const TokenTrie trie(tok);
    if (const auto text = random_walk(g, tok, trie, rng, 500)) {
      ++finished;
      EXPECT_TRUE(matches(g, *text)) << *text;
    }
  }
  EXPECT_GE(finished, 90);
}

const std::set<std::string> kSemanticErrors = {"duplicate id", "depends on", "prompt refers to unknown node",
                                               "not in its deps", "dependency cycle"};

TEST(GrammarMask, RandomPlansParseAsJsonPlans) {
  const graph::PlanVocabulary vocabulary{{"smollm2", "stories260K"}, {"general", "stories"}};
  const auto g = grammar(graph::plan_grammar(vocabulary));
  std::vector<std::string> alphabet = kJsonAlphabet;  // and every printable ASCII character, so no walk is stuck
  for (char c = ' '; c <= '~'; ++c) alphabet.emplace_back(1, c);
  for (const char* s : {"{\"nodes\": [", "{\"id\": \"", "\", \"prompt\": \"", "\", ", "\"expert\": \"", "\"category\": \"",
                        "\"deps\": [", "]}", "]}]}", "\"", "smollm2", "stories", "general", "join", "{{node:", "a\"]"})
    alphabet.push_back(s);
  std::mt19937 rng(5);
  int finished = 0, valid = 0;
  for (int walk = 0; walk < 60; ++walk) {
    const FakeTokenizer tok = random_vocabulary(rng, alphabet, 150);
    const TokenTrie trie(tok);
    const auto text = random_walk(g, tok, trie, rng, 3000);
    if (!text) continue;
    ++finished;
    ASSERT_TRUE(matches(g, *text));
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(*text)) << *text;
    EXPECT_TRUE(parsed["nodes"].is_array());
    try {
      graph::parse_plan(*text, "walk", vocabulary);
      ++valid;
    } catch (const Error& e) {
      // The grammar promises the shape; only what it cannot see (ids, deps) may be wrong.
      bool semantic = false;
      for (const std::string& m : kSemanticErrors) semantic = semantic || std::string(e.what()).find(m) != std::string::npos;
      EXPECT_TRUE(semantic) << e.what() << "\n" << *text;
    }
  }
  EXPECT_GE(finished, 30);
  EXPECT_GE(valid, 1);
}

TEST(PlanGrammar, BundledFileIsTheGenericGrammar) {
  std::ifstream in(test::source_dir() + "/configs/grammars/plan.gbnf");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), graph::plan_grammar({}));
  const auto g = grammar(text.str());
  EXPECT_TRUE(matches(g, R"({"nodes": [{"id": "a", "prompt": "Hi {{question}}", "category": "x-1", "deps": []}, )"
                         R"({"id": "out", "prompt": "{{node:a}}\n", "expert": "join", "deps": ["a"]}]})"));
  EXPECT_FALSE(matches(g, R"({"nodes": [{"id": "a", "prompt": "{{oops}}", "deps": []}]})"));
  EXPECT_FALSE(matches(g, R"({"nodes": [{"prompt": "x", "id": "a", "deps": []}]})"));
}

TEST(PlanGrammar, NamesOnlyTheVocabulary) {
  const auto g = grammar(graph::plan_grammar({{"smollm2"}, {"general"}}));
  const std::string head = R"({"nodes": [{"id": "a", "prompt": "x", )";
  EXPECT_TRUE(matches(g, head + R"("expert": "smollm2", "deps": []}]})"));
  EXPECT_TRUE(matches(g, head + R"("expert": "join", "deps": []}]})"));
  EXPECT_TRUE(matches(g, head + R"("category": "general", "deps": []}]})"));
  EXPECT_FALSE(matches(g, head + R"("expert": "gpt", "deps": []}]})"));
  EXPECT_FALSE(matches(g, head + R"("category": "stories", "deps": []}]})"));
}

}  // namespace
}  // namespace chorus
