// Grammar-constrained sampling: which tokens of a vocabulary the grammar can
// read next. The vocabulary's token bytes (what Tokenizer::token_to_piece
// gives: "▁" as a space, <0xNN> as its byte, byte-level BPE symbols as their
// bytes) form a byte trie, walked once per step with the state's stacks; a
// prefix no stack can read prunes its whole subtree. Control tokens never
// pass; end-of-generation tokens pass only when the grammar is complete.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/tokenizer.h"
#include "runtime/grammar_state.h"

namespace chorus::runtime {

class TokenTrie {
 public:
  explicit TokenTrie(const models::Tokenizer& tokenizer);

  int32_t vocab_size() const { return vocab_size_; }
  size_t node_count() const { return nodes_.size(); }

  // allowed[t] = 1 when token t may come next, else 0 (resized to the vocabulary).
  void allowed_tokens(const GrammarState& state, std::vector<uint8_t>& allowed) const;

 private:
  struct Node {
    uint32_t first_edge = 0, edge_count = 0;    // into edge_bytes_ / edge_targets_
    uint32_t first_token = 0, token_count = 0;  // into tokens_: the tokens whose bytes end here
  };
  void walk(uint32_t node, std::span<const int32_t> stacks, const Utf8Partial& partial, GrammarStacks& machine,
            std::vector<std::vector<int32_t>>& frames, size_t depth, std::vector<uint8_t>& allowed) const;

  int32_t vocab_size_ = 0;
  size_t max_length_ = 0;  // the longest piece, in bytes
  std::vector<Node> nodes_;  // nodes_[0] is the root (the empty prefix)
  std::vector<uint8_t> edge_bytes_;
  std::vector<uint32_t> edge_targets_;
  std::vector<int32_t> tokens_;
  std::vector<int32_t> end_of_generation_;
};

// Sets the logits of the tokens `allowed` rules out to -infinity; returns how many remain.
int32_t mask_logits(std::span<float> logits, const std::vector<uint8_t>& allowed);

}  // namespace chorus::runtime
