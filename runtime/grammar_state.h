// Runs a Grammar over UTF-8 bytes as a pushdown recognizer: the state is a set
// of stacks of grammar positions (every way the input so far can be parsed);
// the top of each stack is a character class waiting for the next code point.
// Stacks are hash-consed (equal stacks have equal ids, sharing their tails) and
// each (stack, code point) step is memoised, so that a token mask can walk a
// whole vocabulary per sampling step. Multi-byte code points are read byte by
// byte: a partial sequence survives while some class can still hold a code
// point that it could complete to.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/grammar.h"

namespace chorus::runtime {

// A code point read so far: `remaining` continuation bytes still to come; the
// sequence's length allows no value below `min` (shorter forms are overlong).
struct Utf8Partial {
  uint32_t value = 0;
  uint8_t remaining = 0;
  uint32_t min = 0;
};

// The stack arena and step memo of one grammar; shared by the states that run it.
class GrammarStacks {
 public:
  static constexpr int32_t kEmpty = 0;  // the stack of an input the root has finished
  // An ambiguous grammar (e.g. `root ::= item+`, `item ::= "(" root* ")"`) can
  // keep exponentially many parses alive: past these bounds reading throws
  // chorus::Error (kResourceExhausted) instead of running out of time or memory.
  static constexpr size_t kMaxStacks = 4096;        // stacks after one code point
  static constexpr size_t kMaxNodes = size_t{1} << 20;  // stack nodes of the arena

  explicit GrammarStacks(std::shared_ptr<const Grammar> grammar);

  // The stacks before any input (sorted, unique).
  std::vector<int32_t> initial();
  // Reads one byte from `from` (sorted, unique) and `partial`; `out` gets the
  // stacks after it (sorted, unique). False when no stack can go on.
  bool read_byte(std::span<const int32_t> from, Utf8Partial& partial, uint8_t byte, std::vector<int32_t>& out);

 private:
  struct Node {
    int32_t position;  // into Grammar::at
    int32_t parent;    // the stack below, kEmpty at the bottom
  };
  int32_t intern(int32_t position, int32_t parent);
  // Appends the stacks whose top is a character class reached from `position`.
  void expand(int32_t position, int32_t parent, std::vector<int32_t>& out);
  void advance(std::span<const int32_t> from, uint32_t cp, std::vector<int32_t>& out);
  bool can_read(std::span<const int32_t> from, uint32_t lo, uint32_t hi) const;

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> interned_;
  struct Slice {
    uint32_t begin, count;
  };
  std::unordered_map<uint64_t, Slice> steps_;  // (stack, code point) -> stacks, in step_pool_
  std::vector<int32_t> step_pool_;
};

class GrammarState {
 public:
  explicit GrammarState(std::shared_ptr<const Grammar> grammar);

  // Reads the bytes; when the grammar cannot, returns false and leaves the state as it was.
  bool accept(std::string_view bytes);
  bool can_accept(std::string_view bytes) const;
  // The root can end here.
  bool is_complete() const;
  // Some input can still follow.
  bool can_continue() const;

  std::span<const int32_t> stacks() const { return stacks_; }
  const Utf8Partial& partial() const { return partial_; }
  // Shared by copies of this state; the token mask steps it directly.
  GrammarStacks& machine() const { return *machine_; }

 private:
  std::shared_ptr<GrammarStacks> machine_;
  std::vector<int32_t> stacks_;
  Utf8Partial partial_;
};

}  // namespace chorus::runtime
