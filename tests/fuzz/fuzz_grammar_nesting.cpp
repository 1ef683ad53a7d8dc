// libFuzzer target for deeply nested GBNF: the input is a recipe, not the
// grammar, so that every run reaches depths a byte-level mutator of
// fuzz_grammar would take ages to build (20,000 nested groups once overflowed
// the parser's stack). The grammar must parse or throw chorus::Error, and one
// that parses must drive the recognizer over the matching text.
//
// Recipe: bytes 0-1 depth (little-endian, 13 bits: up to 8191); byte 2 the shape:
//   0 groups      root ::= ((("a")))            1 named chain  r0 ::= r1 ...
//   2 repetitions root ::= ((("a")*)*)*          3 alternatives root ::= ("a" | ("a" | ...))
//   4 right-nested groups with a character before each level
// the rest: bytes fed to the recognizer, in 3-byte pieces.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "chorus/error.h"
#include "runtime/grammar.h"
#include "runtime/grammar_state.h"

namespace {

std::string recipe_grammar(uint32_t depth, uint8_t shape) {
  std::string g;
  switch (shape % 5) {
    case 0: g = "root ::= " + std::string(depth, '(') + "\"a\"" + std::string(depth, ')') + "\n"; break;
    case 1:
      for (uint32_t i = 0; i < depth; ++i) g += fmt::format("r{} ::= r{}\n", i, i + 1);
      g += fmt::format("r{} ::= \"a\"\nroot ::= r0\n", depth);
      break;
    case 2: {
      g = "root ::= " + std::string(depth, '(') + "\"a\"";
      for (uint32_t i = 0; i < depth; ++i) g += ")*";
      g += "\n";
      break;
    }
    case 3:
      g = "root ::= ";
      for (uint32_t i = 0; i < depth; ++i) g += "(\"a\" | ";
      g += "\"b\"" + std::string(depth, ')') + "\n";
      break;
    case 4:
      g = "root ::= ";
      for (uint32_t i = 0; i < depth; ++i) g += "\"a\" (";
      g += "\"b\"" + std::string(depth, ')') + "\n";
      break;
  }
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  // Up to 8191: far past both limits (256 groups, 1024 rules), and cheap enough to run often.
  const uint32_t depth = data[0] | (static_cast<uint32_t>(data[1] & 0x1f) << 8);
  const std::string text = recipe_grammar(depth, data[2]);
  std::shared_ptr<const chorus::runtime::Grammar> grammar;
  try {
    grammar = std::make_shared<const chorus::runtime::Grammar>(chorus::runtime::Grammar::parse(text, "nested.gbnf"));
  } catch (const chorus::Error& e) {
    if (e.code() != chorus::ErrorCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  try {
    chorus::runtime::GrammarState state(grammar);
    std::string_view input(reinterpret_cast<const char*>(data + 3), std::min<size_t>(size - 3, 4096));
    while (!input.empty()) {
      const std::string_view piece = input.substr(0, 3);
      input.remove_prefix(piece.size());
      if (state.can_accept(piece) != state.accept(piece)) __builtin_trap();
    }
  } catch (const chorus::Error& e) {
    if (e.code() != chorus::ErrorCode::kResourceExhausted) __builtin_trap();
  }
  return 0;
}
