#include "runtime/grammar_state.h"

#include <algorithm>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

namespace {

using Kind = Grammar::Element::Kind;

void sort_unique(std::vector<int32_t>& v, size_t from = 0) {
  std::sort(v.begin() + static_cast<std::ptrdiff_t>(from), v.end());
  v.erase(std::unique(v.begin() + static_cast<std::ptrdiff_t>(from), v.end()), v.end());
}

[[noreturn]] void too_many_stacks() {
  throw Error(ErrorCode::kResourceExhausted,
              fmt::format("grammar: more than {} parses in flight: the grammar is too ambiguous for this input",
                          GrammarStacks::kMaxStacks));
}

}  // namespace

GrammarStacks::GrammarStacks(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {
  nodes_.push_back({-1, kEmpty});  // id 0: the empty stack
}

int32_t GrammarStacks::intern(int32_t position, int32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(position)) << 32) | static_cast<uint32_t>(parent);
  const auto [it, fresh] = interned_.emplace(key, static_cast<int32_t>(nodes_.size()));
  if (fresh) {
    if (nodes_.size() >= kMaxNodes)
      throw Error(ErrorCode::kResourceExhausted,
                  fmt::format("grammar: more than {} parse stack nodes: the grammar is too ambiguous", kMaxNodes));
    nodes_.push_back({position, parent});
  }
  return it->second;
}

void GrammarStacks::expand(int32_t position, int32_t parent, std::vector<int32_t>& out) {
  const Grammar::Element& e = grammar_->at(position);
  switch (e.kind) {
    case Kind::kEnd:
      if (parent == kEmpty) {
        out.push_back(kEmpty);
      } else {
        const Node below = nodes_[parent];
        expand(below.position, below.parent, out);
      }
      return;
    case Kind::kChar:
      if (out.size() >= kMaxStacks) too_many_stacks();
      out.push_back(intern(position, parent));
      return;
    case Kind::kRule: {
      // A reference in tail position returns straight to the parent: loops do not grow the stack.
      const int32_t next = position + 1;
      const int32_t continuation = grammar_->at(next).kind == Kind::kEnd ? parent : intern(next, parent);
      for (int32_t alternative : grammar_->alternatives(e.index)) expand(alternative, continuation, out);
      return;
    }
  }
}

std::vector<int32_t> GrammarStacks::initial() {
  std::vector<int32_t> out;
  for (int32_t alternative : grammar_->alternatives(grammar_->root())) expand(alternative, kEmpty, out);
  sort_unique(out);
  return out;
}

void GrammarStacks::advance(std::span<const int32_t> from, uint32_t cp, std::vector<int32_t>& out) {
  out.clear();
  for (int32_t stack : from) {
    if (stack == kEmpty) continue;
    const uint64_t key = (static_cast<uint64_t>(stack) << 21) | cp;
    auto it = steps_.find(key);
    if (it == steps_.end()) {
      std::vector<int32_t> next;
      const Node top = nodes_[stack];
      if (grammar_->char_class(grammar_->at(top.position).index).contains(cp)) expand(top.position + 1, top.parent, next);
      sort_unique(next);
      it = steps_.emplace(key, Slice{static_cast<uint32_t>(step_pool_.size()), static_cast<uint32_t>(next.size())}).first;
      step_pool_.insert(step_pool_.end(), next.begin(), next.end());
    }
    out.insert(out.end(), step_pool_.begin() + it->second.begin, step_pool_.begin() + it->second.begin + it->second.count);
  }
  if (from.size() > 1) sort_unique(out);
  if (out.size() > kMaxStacks) too_many_stacks();
}

bool GrammarStacks::can_read(std::span<const int32_t> from, uint32_t lo, uint32_t hi) const {
  for (int32_t stack : from)
    if (stack != kEmpty && grammar_->char_class(grammar_->at(nodes_[stack].position).index).intersects(lo, hi)) return true;
  return false;
}

bool GrammarStacks::read_byte(std::span<const int32_t> from, Utf8Partial& partial, uint8_t byte, std::vector<int32_t>& out) {
  if (partial.remaining == 0) {
    if (byte < 0x80) {
      advance(from, byte, out);
      return !out.empty();
    }
    if ((byte & 0xE0) == 0xC0) {
      partial = {byte & 0x1Fu, 1, 0x80};
    } else if ((byte & 0xF0) == 0xE0) {
      partial = {byte & 0x0Fu, 2, 0x800};
    } else if ((byte & 0xF8) == 0xF0) {
      partial = {byte & 0x07u, 3, 0x10000};
    } else {
      return false;  // a continuation byte or an invalid lead
    }
  } else {
    if ((byte & 0xC0) != 0x80) return false;
    partial.value = (partial.value << 6) | (byte & 0x3Fu);
    if (--partial.remaining == 0) {
      const uint32_t cp = partial.value;
      if (cp < partial.min || (cp >= 0xD800 && cp <= 0xDFFF)) return false;  // overlong or a surrogate
      advance(from, cp, out);
      return !out.empty();
    }
  }
  // Mid-sequence: the stacks wait; some class must hold a code point this prefix can complete to.
  const int shift = 6 * partial.remaining;
  const uint32_t lo = std::max(partial.value << shift, partial.min);
  const uint32_t hi = std::min((partial.value << shift) | ((1u << shift) - 1), 0x10FFFFu);
  out.assign(from.begin(), from.end());
  return lo <= hi && can_read(from, lo, hi);
}

GrammarState::GrammarState(std::shared_ptr<const Grammar> grammar)
    : machine_(std::make_shared<GrammarStacks>(std::move(grammar))), stacks_(machine_->initial()) {}

bool GrammarState::accept(std::string_view bytes) {
  std::vector<int32_t> stacks = stacks_, next;
  Utf8Partial partial = partial_;
  for (char c : bytes) {
    if (!machine_->read_byte(stacks, partial, static_cast<uint8_t>(c), next)) return false;
    stacks.swap(next);
  }
  stacks_ = std::move(stacks);
  partial_ = partial;
  return true;
}

bool GrammarState::can_accept(std::string_view bytes) const {
  GrammarState copy = *this;
  return copy.accept(bytes);
}

bool GrammarState::is_complete() const {
  return partial_.remaining == 0 && !stacks_.empty() && stacks_.front() == GrammarStacks::kEmpty;
}

bool GrammarState::can_continue() const { return stacks_.size() > (is_complete() ? 1u : 0u) || partial_.remaining > 0; }

}  // namespace chorus::runtime
