// The paged KV cache: a pool of fixed-size blocks (16 positions by default,
// K and V in f32 or f16), a block table per sequence, reference counts and a
// free list. fork() shares every block of the parent; a shared block is copied
// on its first write (only a partial last block can be written). Full blocks
// are indexed by the hash of the whole prefix they end, so a new sequence with
// the same prompt prefix attaches to them instead of recomputing them.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "models/kv_state.h"

namespace chorus::runtime {

struct PagedKvConfig {
  int32_t n_layers = 0;
  int32_t kv_dim = 0;
  int32_t block_size = 16;
  int32_t n_blocks = 0;
  models::KvType type = models::KvType::kF32;
};

class PagedKvCache : public models::KvState {
 public:
  explicit PagedKvCache(const PagedKvConfig& config);

  // ---- sequences
  void add_sequence(int32_t seq);                  // empty; throws if it exists
  void fork(int32_t parent, int32_t child);        // child shares all of parent's blocks
  void free_sequence(int32_t seq);                 // returns blocks nobody else holds
  bool has_sequence(int32_t seq) const { return seqs_.count(seq) != 0; }
  int32_t length(int32_t seq) const;               // reserved positions
  // Blocks reserve(seq, end) would take from the pool (new blocks + copies on write).
  int32_t blocks_needed(int32_t seq, int32_t end) const;

  // ---- prefix sharing
  // Attaches to an empty sequence the longest run of indexed full blocks that
  // hold tokens[0, k*block_size) with k*block_size <= max_positions; returns the positions attached.
  int32_t attach_prefix(int32_t seq, std::span<const int32_t> tokens, int32_t max_positions);
  // Indexes the sequence's full blocks among positions [0, computed) whose K/V are final.
  void publish_prefix(int32_t seq, std::span<const int32_t> tokens, int32_t computed);
  // Positions of tokens[0..] held by indexed blocks (what attach_prefix would attach, uncapped).
  int32_t cached_prefix(std::span<const int32_t> tokens) const;
  // Extends `seq` (its length a whole number of blocks) to `end` with the K/V of
  // positions [length, end) of `donor`, whose tokens the caller checked are the
  // same there: the donor's full blocks are shared, its partial block's rows
  // copied (a prefix shorter than a block is shared too). Needs end <= the
  // donor's length; throws kResourceExhausted when no block is free for the copy.
  void share_prefix_from(int32_t seq, int32_t donor, int32_t end);

  // ---- pool accounting
  int32_t block_size() const { return cfg_.block_size; }
  int32_t total_blocks() const { return cfg_.n_blocks; }
  int32_t free_blocks() const { return static_cast<int32_t>(free_.size()); }
  size_t bytes_per_block() const { return block_elems_ * elem_bytes_; }
  size_t bytes_in_use() const { return (total_blocks() - free_blocks()) * bytes_per_block(); }
  // Throws chorus::Error (kInternal) describing the first broken invariant.
  void check_invariants() const;

  // ---- KvState
  models::KvType type() const override { return cfg_.type; }
  void reserve(int32_t seq, int32_t end) override;
  void write(int32_t layer, int32_t seq, int32_t pos, const float* k, const float* v) override;
  models::KvRun run(int32_t layer, int32_t seq, int32_t pos, int32_t end) const override;

 private:
  struct Seq {
    std::vector<int32_t> blocks;
    int32_t length = 0;
  };
  const Seq& seq_at(int32_t seq) const;
  Seq& seq_at(int32_t seq);
  int32_t take_block();
  void release_block(int32_t block);
  uint8_t* block_data(int32_t block, int32_t layer, int32_t kv) const;  // kv: 0 = K, 1 = V
  static uint64_t chain_hash(uint64_t prev, std::span<const int32_t> block_tokens);

  PagedKvConfig cfg_;
  size_t elem_bytes_;
  size_t block_elems_;  // per block: layers x {K,V} x block_size x kv_dim
  struct FreeBytes {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  // calloc'd: zero without touching it, so an engine costs no page faults
  // for the blocks it never uses (a std::vector zero-filled 150-300 MB per
  // expert engine: 0.13-0.35 s on the reference VM).
  std::unique_ptr<uint8_t[], FreeBytes> storage_;
  std::vector<int32_t> refcount_;
  std::vector<int32_t> free_;
  std::unordered_map<int32_t, Seq> seqs_;
  std::unordered_map<uint64_t, int32_t> prefix_index_;  // prefix hash -> block
  std::vector<uint64_t> block_hash_;                     // 0 = not indexed
};

}  // namespace chorus::runtime
