#include "runtime/grammar_mask.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

TokenTrie::TokenTrie(const models::Tokenizer& tokenizer) : vocab_size_(tokenizer.vocab_size()) {
  std::vector<std::pair<std::string, int32_t>> pieces;
  for (int32_t id = 0; id < vocab_size_; ++id) {
    if (tokenizer.is_end_of_generation(id)) end_of_generation_.push_back(id);
    if (tokenizer.is_control(id)) continue;
    std::string piece = tokenizer.token_to_piece(id);
    max_length_ = std::max(max_length_, piece.size());
    if (!piece.empty()) pieces.emplace_back(std::move(piece), id);
  }
  std::sort(pieces.begin(), pieces.end());
  // Sorted pieces: a node's range [lo, hi) shares `depth` bytes; the pieces of exactly that
  // length come first, then one child per distinct next byte.
  struct Pending {
    uint32_t node;
    size_t lo, hi, depth;
  };
  nodes_.emplace_back();
  std::vector<Pending> todo{{0, 0, pieces.size(), 0}};
  while (!todo.empty()) {
    const Pending p = todo.back();
    todo.pop_back();
    size_t i = p.lo;
    nodes_[p.node].first_token = static_cast<uint32_t>(tokens_.size());
    for (; i < p.hi && pieces[i].first.size() == p.depth; ++i) tokens_.push_back(pieces[i].second);
    nodes_[p.node].token_count = static_cast<uint32_t>(tokens_.size()) - nodes_[p.node].first_token;
    nodes_[p.node].first_edge = static_cast<uint32_t>(edge_bytes_.size());
    while (i < p.hi) {
      const char byte = pieces[i].first[p.depth];
      size_t j = i;
      while (j < p.hi && pieces[j].first[p.depth] == byte) ++j;
      const uint32_t child = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      edge_bytes_.push_back(static_cast<uint8_t>(byte));
      edge_targets_.push_back(child);
      todo.push_back({child, i, j, p.depth + 1});
      i = j;
    }
    nodes_[p.node].edge_count = static_cast<uint32_t>(edge_bytes_.size()) - nodes_[p.node].first_edge;
  }
}

void TokenTrie::walk(uint32_t node, std::span<const int32_t> stacks, const Utf8Partial& partial, GrammarStacks& machine,
                     std::vector<std::vector<int32_t>>& frames, size_t depth, std::vector<uint8_t>& allowed) const {
  const Node& n = nodes_[node];
  for (uint32_t e = n.first_edge; e < n.first_edge + n.edge_count; ++e) {
    Utf8Partial next_partial = partial;
    std::vector<int32_t>& next = frames[depth];
    if (!machine.read_byte(stacks, next_partial, edge_bytes_[e], next)) continue;
    const Node& child = nodes_[edge_targets_[e]];
    for (uint32_t t = child.first_token; t < child.first_token + child.token_count; ++t) allowed[tokens_[t]] = 1;
    walk(edge_targets_[e], next, next_partial, machine, frames, depth + 1, allowed);
  }
}

void TokenTrie::allowed_tokens(const GrammarState& state, std::vector<uint8_t>& allowed) const {
  allowed.assign(static_cast<size_t>(vocab_size_), 0);
  std::vector<std::vector<int32_t>> frames(max_length_);  // frames[d]: the stacks after d + 1 bytes
  walk(0, state.stacks(), state.partial(), state.machine(), frames, 0, allowed);
  if (state.is_complete())
    for (int32_t id : end_of_generation_) allowed[id] = 1;
}

int32_t mask_logits(std::span<float> logits, const std::vector<uint8_t>& allowed) {
  if (allowed.size() != logits.size())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("grammar mask: {} logits for a vocabulary of {} tokens", logits.size(), allowed.size()));
  int32_t kept = 0;
  for (size_t t = 0; t < logits.size(); ++t) {
    if (allowed[t]) ++kept;
    else logits[t] = -std::numeric_limits<float>::infinity();
  }
  return kept;
}

}  // namespace chorus::runtime
