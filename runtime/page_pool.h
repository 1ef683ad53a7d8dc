// Populated anonymous memory that a tier reuses, in 2 MiB chunks.
//
// Why: on the machines chorus targets, faulting fresh pages in costs more
// than the copy that fills them (0.45 GB/s with 4 KiB pages on the reference
// VM, against 6 GB/s for memcpy). A tier therefore keeps the chunks of the
// copies it drops, up to its budget, and builds the next copy from them:
// mremap() moves each chunk, pages and all, into place in a fresh contiguous
// range, so a copy is contiguous without any chunk ever being copied or
// faulted again. Chunks are 2 MiB so that transparent huge pages survive the move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace chorus::runtime {

class PagePool;

// A contiguous range built from pool chunks; gives them back when it goes. Move-only.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  ~PooledBuffer();
  PooledBuffer(PooledBuffer&& other) noexcept;
  PooledBuffer& operator=(PooledBuffer&& other) noexcept;
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  friend class PagePool;
  PooledBuffer(PagePool* pool, uint8_t* data, size_t size, size_t head)
      : pool_(pool), data_(data), size_(size), head_(head) {}
  void release();

  PagePool* pool_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t head_ = 0;  // bytes of the first chunk before data_
};

// Thread-safe. Buffers must not outlive their pool.
class PagePool {
 public:
  static constexpr size_t kChunkBytes = size_t{2} << 20;

  // `limit_bytes`: the tier's budget. Chunks kept for reuse plus the bytes of
  // live buffers stay within it (live buffers round up to whole chunks).
  PagePool(uint64_t limit_bytes, bool huge_pages);
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // Faults in chunks up to the limit now, so that no later copy pays for page faults.
  void preallocate();
  // A range of `bytes` (> 0): reused chunks first, fresh pages for the rest.
  // It starts `head` (< kChunkBytes) bytes into its first chunk, so that it
  // can share a file's alignment: a direct read needs the file offset and the
  // address aligned alike. Throws chorus::Error (kResourceExhausted) when the
  // system refuses memory.
  PooledBuffer acquire(size_t bytes, size_t head = 0);
  uint64_t retained_bytes() const;  // chunks kept for reuse

 private:
  friend class PooledBuffer;
  void give_back(uint8_t* data, size_t size);
  uint8_t* reserve_aligned(size_t bytes);  // PROT_NONE address space aligned to a chunk

  const uint64_t limit_;
  const bool huge_pages_;
  mutable std::mutex mutex_;
  std::vector<uint8_t*> free_;  // chunk addresses, populated
  uint64_t live_bytes_ = 0;     // bytes of the buffers handed out
};

}  // namespace chorus::runtime
