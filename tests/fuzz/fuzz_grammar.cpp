// libFuzzer target for the GBNF grammar parser and its recognizer: any input
// must either parse or throw chorus::Error. The input is split at its first
// NUL byte: before it the grammar text, after it bytes fed to the recognizer
// (in pieces of up to 3 bytes, so UTF-8 sequences also arrive split).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>

#include "chorus/error.h"
#include "runtime/grammar.h"
#include "runtime/grammar_state.h"

constexpr size_t kMaxInput = 512;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(all.find('\0'), all.size());
  std::shared_ptr<const chorus::runtime::Grammar> grammar;
  try {
    grammar = std::make_shared<const chorus::runtime::Grammar>(
        chorus::runtime::Grammar::parse(all.substr(0, split), "fuzz.gbnf"));
  } catch (const chorus::Error&) {
    return 0;
  }
  chorus::runtime::GrammarState state(grammar);
  // Token-sized pieces of a generation's worth of text: bounds the time per input.
  std::string_view input = split < all.size() ? all.substr(split + 1, kMaxInput) : std::string_view{};
  try {
    while (!input.empty()) {
      const std::string_view piece = input.substr(0, 3);
      input.remove_prefix(piece.size());
      if (state.can_accept(piece) != state.accept(piece)) __builtin_trap();  // the two must agree
      static volatile bool sink;
      sink = state.is_complete() || state.can_continue();
    }
  } catch (const chorus::Error& e) {
    if (e.code() != chorus::ErrorCode::kResourceExhausted) __builtin_trap();  // only the ambiguity bound may throw
  }
  return 0;
}
