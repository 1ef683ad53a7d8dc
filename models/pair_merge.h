// The merge loop shared by SentencePiece-style BPE (pairs ranked by the
// merged token's score) and byte-level BPE (pairs ranked by merge order):
// repeatedly merge the adjacent pair of highest priority, the leftmost among
// equals, until no adjacent pair can merge. A priority queue with lazily
// dropped stale entries makes it O(n log n) instead of a rescan per merge.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

namespace chorus::models {

// One symbol: a token id (or -1) covering text[begin, begin + size).
struct MergeSymbol {
  int32_t id = -1;
  uint32_t begin = 0;
  uint32_t size = 0;  // 0 once merged into its left neighbour
  int32_t prev = -1;
  int32_t next = -1;
};

struct PairMerge {
  int32_t id;       // the token the pair becomes
  double priority;  // higher merges first
};

// Merges in place. `find_merge(left, right)` returns the merge of two adjacent
// symbols or nullopt. Afterwards the live symbols (size > 0), taken in index
// order, are the result in text order. Symbols must have size >= 1.
template <class FindMerge>
void merge_adjacent_pairs(std::vector<MergeSymbol>& symbols, FindMerge&& find_merge) {
  const int32_t n = static_cast<int32_t>(symbols.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    double priority;
    int32_t left;
    int32_t right;
    int32_t id;
    uint32_t size;  // left.size + right.size when pushed; a mismatch later means the entry is stale
  };
  const auto lower = [](const Candidate& a, const Candidate& b) {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> queue(lower);
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    if (const std::optional<PairMerge> m = find_merge(symbols[left], symbols[right]))
      queue.push({m->priority, left, right, m->id, symbols[left].size + symbols[right].size});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    MergeSymbol& left = symbols[c.left];
    MergeSymbol& right = symbols[c.right];
    // Symbols only grow, so live neighbours with the pushed total size are unchanged.
    if (left.size == 0 || right.size == 0 || left.next != c.right || left.size + right.size != c.size) continue;
    left.id = c.id;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }
}

}  // namespace chorus::models
