#include "runtime/paged_kv_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/dequantize.h"

namespace chorus::runtime {

PagedKvCache::PagedKvCache(const PagedKvConfig& config) : cfg_(config) {
  if (cfg_.n_layers <= 0 || cfg_.kv_dim <= 0 || cfg_.block_size <= 0 || cfg_.n_blocks <= 0)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("paged KV cache: layers {}, kv_dim {}, block size {} and blocks {} must all be positive",
                            cfg_.n_layers, cfg_.kv_dim, cfg_.block_size, cfg_.n_blocks));
  elem_bytes_ = cfg_.type == models::KvType::kF16 ? 2 : 4;
  block_elems_ = static_cast<size_t>(cfg_.n_layers) * 2 * cfg_.block_size * cfg_.kv_dim;
  const size_t bytes = block_elems_ * elem_bytes_ * cfg_.n_blocks;
  // calloc would promise what the machine does not have and fail later, page by page: refuse first.
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  const double memory = pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0.0;
  if (memory > 0 && static_cast<double>(bytes) > memory)
    throw Error(ErrorCode::kResourceExhausted,
                fmt::format("paged KV cache: {} blocks of {} positions need {:.1f} GB, more than this machine's {:.1f} GB "
                            "of memory: run fewer sequences at once or give them a shorter context",
                            cfg_.n_blocks, cfg_.block_size, bytes / 1e9, memory / 1e9));
  storage_.reset(static_cast<uint8_t*>(std::calloc(bytes, 1)));
  if (!storage_)
    throw Error(ErrorCode::kResourceExhausted, fmt::format("paged KV cache: cannot allocate {} bytes", bytes));
  refcount_.assign(cfg_.n_blocks, 0);
  block_hash_.assign(cfg_.n_blocks, 0);
  free_.reserve(cfg_.n_blocks);
  // Lowest block ids are handed out first (the free list is a stack).
  for (int32_t b = cfg_.n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

const PagedKvCache::Seq& PagedKvCache::seq_at(int32_t seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) throw Error(ErrorCode::kNotFound, fmt::format("paged KV cache: no sequence {}", seq));
  return it->second;
}

PagedKvCache::Seq& PagedKvCache::seq_at(int32_t seq) {
  return const_cast<Seq&>(static_cast<const PagedKvCache*>(this)->seq_at(seq));
}

void PagedKvCache::add_sequence(int32_t seq) {
  if (!seqs_.emplace(seq, Seq{}).second)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("paged KV cache: sequence {} already exists", seq));
}

void PagedKvCache::fork(int32_t parent, int32_t child) {
  const Seq p = seq_at(parent);
  add_sequence(child);
  for (int32_t b : p.blocks) ++refcount_[b];
  seqs_[child] = p;
}

void PagedKvCache::free_sequence(int32_t seq) {
  Seq& s = seq_at(seq);
  for (int32_t b : s.blocks) release_block(b);
  seqs_.erase(seq);
}

void PagedKvCache::share_prefix_from(int32_t seq, int32_t donor, int32_t end) {
  const Seq& d = seq_at(donor);
  Seq& s = seq_at(seq);
  const int32_t bs = cfg_.block_size;
  if (s.length % bs != 0 || end < s.length || end > d.length)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("paged KV cache: sequence {} (length {}) cannot take positions up to {} of sequence {} "
                            "(length {})", seq, s.length, end, donor, d.length));
  const int32_t tail = end % bs;
  if (tail != 0 && free_.empty())
    throw Error(ErrorCode::kResourceExhausted,
                fmt::format("paged KV cache: no free block to copy sequence {}'s partial prefix block", donor));
  for (int32_t i = s.length / bs; i < end / bs; ++i) {
    ++refcount_[d.blocks[i]];
    s.blocks.push_back(d.blocks[i]);
  }
  if (tail != 0) {
    const int32_t from = d.blocks[end / bs];
    const int32_t copy = take_block();
    const size_t rows_bytes = static_cast<size_t>(tail) * cfg_.kv_dim * elem_bytes_;
    for (int32_t layer = 0; layer < cfg_.n_layers; ++layer)
      for (int32_t kv = 0; kv < 2; ++kv) std::memcpy(block_data(copy, layer, kv), block_data(from, layer, kv), rows_bytes);
    s.blocks.push_back(copy);
  }
  s.length = end;
}

int32_t PagedKvCache::length(int32_t seq) const { return seq_at(seq).length; }

int32_t PagedKvCache::take_block() {
  const int32_t b = free_.back();
  free_.pop_back();
  refcount_[b] = 1;
  return b;
}

void PagedKvCache::release_block(int32_t b) {
  if (--refcount_[b] > 0) return;
  if (block_hash_[b] != 0) {
    prefix_index_.erase(block_hash_[b]);
    block_hash_[b] = 0;
  }
  free_.push_back(b);
}

int32_t PagedKvCache::blocks_needed(int32_t seq, int32_t end) const {
  const Seq& s = seq_at(seq);
  if (end <= s.length) return 0;
  const int32_t bs = cfg_.block_size;
  const int32_t have = static_cast<int32_t>(s.blocks.size());
  const int32_t want = (end + bs - 1) / bs;
  int32_t n = std::max(0, want - have);
  // The partial last block is written next: a shared one must be copied first.
  if (s.length % bs != 0 && refcount_[s.blocks.back()] > 1) ++n;
  return n;
}

void PagedKvCache::reserve(int32_t seq, int32_t end) {
  const int32_t need = blocks_needed(seq, end);
  if (need > free_blocks())
    throw Error(ErrorCode::kResourceExhausted,
                fmt::format("paged KV cache: sequence {} needs {} more blocks for {} positions, {} of {} are free", seq,
                            need, end, free_blocks(), total_blocks()));
  Seq& s = seq_at(seq);
  if (end <= s.length) return;
  const int32_t bs = cfg_.block_size;
  if (s.length % bs != 0 && refcount_[s.blocks.back()] > 1) {
    const int32_t old = s.blocks.back();
    const int32_t copy = take_block();
    std::memcpy(block_data(copy, 0, 0), block_data(old, 0, 0), block_elems_ * elem_bytes_);
    release_block(old);
    s.blocks.back() = copy;
  }
  while (static_cast<int32_t>(s.blocks.size()) * bs < end) s.blocks.push_back(take_block());
  s.length = end;
}

uint8_t* PagedKvCache::block_data(int32_t block, int32_t layer, int32_t kv) const {
  const size_t elems = static_cast<size_t>(block) * block_elems_ +
                       (static_cast<size_t>(layer) * 2 + kv) * cfg_.block_size * cfg_.kv_dim;
  return storage_.get() + elems * elem_bytes_;
}

void PagedKvCache::write(int32_t layer, int32_t seq, int32_t pos, const float* k, const float* v) {
  const Seq& s = seq_at(seq);
  const int32_t bs = cfg_.block_size;
  const int32_t block = s.blocks[pos / bs];
  const size_t row = static_cast<size_t>(pos % bs) * cfg_.kv_dim;
  if (cfg_.type == models::KvType::kF32) {
    std::memcpy(reinterpret_cast<float*>(block_data(block, layer, 0)) + row, k, cfg_.kv_dim * sizeof(float));
    std::memcpy(reinterpret_cast<float*>(block_data(block, layer, 1)) + row, v, cfg_.kv_dim * sizeof(float));
  } else {
    auto* kd = reinterpret_cast<uint16_t*>(block_data(block, layer, 0)) + row;
    auto* vd = reinterpret_cast<uint16_t*>(block_data(block, layer, 1)) + row;
    for (int32_t i = 0; i < cfg_.kv_dim; ++i) {
      kd[i] = kernels::fp32_to_fp16(k[i]);
      vd[i] = kernels::fp32_to_fp16(v[i]);
    }
  }
}

models::KvRun PagedKvCache::run(int32_t layer, int32_t seq, int32_t pos, int32_t end) const {
  const Seq& s = seq_at(seq);
  const int32_t bs = cfg_.block_size;
  const int32_t block = s.blocks[pos / bs];
  const int32_t offset = pos % bs;
  const size_t row_bytes = static_cast<size_t>(offset) * cfg_.kv_dim * elem_bytes_;
  return {block_data(block, layer, 0) + row_bytes, block_data(block, layer, 1) + row_bytes, pos,
          std::min(bs - offset, end - pos), cfg_.kv_dim};
}

uint64_t PagedKvCache::chain_hash(uint64_t prev, std::span<const int32_t> block_tokens) {
  // FNV-1a over the previous hash and the block's token ids; never 0 (0 marks "not indexed").
  uint64_t h = 1469598103934665603ull ^ prev;
  for (int32_t t : block_tokens) {
    h ^= static_cast<uint32_t>(t);
    h *= 1099511628211ull;
    h ^= h >> 29;
  }
  return h == 0 ? 1 : h;
}

int32_t PagedKvCache::cached_prefix(std::span<const int32_t> tokens) const {
  const int32_t bs = cfg_.block_size;
  uint64_t h = 0;
  int32_t n = 0;
  while (n + bs <= static_cast<int32_t>(tokens.size())) {
    h = chain_hash(h, tokens.subspan(n, bs));
    if (!prefix_index_.count(h)) break;
    n += bs;
  }
  return n;
}

int32_t PagedKvCache::attach_prefix(int32_t seq, std::span<const int32_t> tokens, int32_t max_positions) {
  Seq& s = seq_at(seq);
  if (s.length != 0) throw Error(ErrorCode::kInvalidArgument, fmt::format("paged KV cache: sequence {} is not empty", seq));
  const int32_t bs = cfg_.block_size;
  uint64_t h = 0;
  while (s.length + bs <= std::min<int32_t>(max_positions, static_cast<int32_t>(tokens.size()))) {
    h = chain_hash(h, tokens.subspan(s.length, bs));
    auto it = prefix_index_.find(h);
    if (it == prefix_index_.end()) break;
    ++refcount_[it->second];
    s.blocks.push_back(it->second);
    s.length += bs;
  }
  return s.length;
}

void PagedKvCache::publish_prefix(int32_t seq, std::span<const int32_t> tokens, int32_t computed) {
  const Seq& s = seq_at(seq);
  const int32_t bs = cfg_.block_size;
  const int32_t full = std::min<int32_t>(computed, static_cast<int32_t>(tokens.size())) / bs;
  uint64_t h = 0;
  for (int32_t i = 0; i < full; ++i) {
    h = chain_hash(h, tokens.subspan(static_cast<size_t>(i) * bs, bs));
    const int32_t b = s.blocks[i];
    if (block_hash_[b] == h) continue;
    // The first block to publish a prefix owns its index entry; an equal block computed
    // by another sequence in the same step stays private.
    if (block_hash_[b] == 0 && !prefix_index_.count(h)) {
      prefix_index_[h] = b;
      block_hash_[b] = h;
    }
  }
}

void PagedKvCache::check_invariants() const {
  auto broken = [](const std::string& what) { throw Error(ErrorCode::kInternal, "paged KV cache invariant: " + what); };
  std::vector<int32_t> held(cfg_.n_blocks, 0);
  for (const auto& [id, s] : seqs_) {
    const int32_t want = (s.length + cfg_.block_size - 1) / cfg_.block_size;
    if (static_cast<int32_t>(s.blocks.size()) != want)
      broken(fmt::format("sequence {} has {} blocks for {} positions", id, s.blocks.size(), s.length));
    for (int32_t b : s.blocks) {
      if (b < 0 || b >= cfg_.n_blocks) broken(fmt::format("sequence {} holds block {} outside the pool", id, b));
      ++held[b];
    }
  }
  std::vector<bool> in_free(cfg_.n_blocks, false);
  for (int32_t b : free_) {
    if (in_free[b]) broken(fmt::format("block {} is twice in the free list", b));
    in_free[b] = true;
  }
  for (int32_t b = 0; b < cfg_.n_blocks; ++b) {
    if (refcount_[b] != held[b]) broken(fmt::format("block {} has refcount {} but {} holders", b, refcount_[b], held[b]));
    if ((held[b] == 0) != in_free[b]) broken(fmt::format("block {} free-list membership disagrees with its holders", b));
    if (block_hash_[b] != 0 && held[b] == 0) broken(fmt::format("free block {} is still indexed", b));
  }
  for (const auto& [h, b] : prefix_index_)
    if (block_hash_[b] != h) broken(fmt::format("prefix index entry for block {} does not match its hash", b));
}

}  // namespace chorus::runtime
