#include "runtime/page_pool.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

namespace {

size_t chunks_for(size_t bytes) { return (bytes + PagePool::kChunkBytes - 1) / PagePool::kChunkBytes; }

[[noreturn]] void refused(const char* call, size_t bytes) {
  throw Error(ErrorCode::kResourceExhausted, fmt::format("{} of {} bytes failed: {}", call, bytes, std::strerror(errno)));
}

}  // namespace

// ---- PooledBuffer ----

PooledBuffer::~PooledBuffer() { release(); }

PooledBuffer::PooledBuffer(PooledBuffer&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      head_(std::exchange(other.head_, 0)) {}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    head_ = std::exchange(other.head_, 0);
  }
  return *this;
}

void PooledBuffer::release() {
  if (pool_) pool_->give_back(data_ - head_, head_ + size_);
  pool_ = nullptr;
  data_ = nullptr;
  size_ = 0;
  head_ = 0;
}

// ---- PagePool ----

PagePool::PagePool(uint64_t limit_bytes, bool huge_pages) : limit_(limit_bytes), huge_pages_(huge_pages) {}

PagePool::~PagePool() {
  for (uint8_t* chunk : free_) munmap(chunk, kChunkBytes);
}

uint8_t* PagePool::reserve_aligned(size_t bytes) {
  const size_t span = bytes + kChunkBytes;
  void* p = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) refused("mmap", span);
  const auto raw = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (raw + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
  if (aligned > raw) munmap(p, aligned - raw);
  if (aligned + bytes < raw + span) munmap(reinterpret_cast<void*>(aligned + bytes), raw + span - aligned - bytes);
  return reinterpret_cast<uint8_t*>(aligned);
}

void PagePool::preallocate() {
  size_t want = 0;
  {
    const std::lock_guard lock(mutex_);
    const uint64_t held = live_bytes_ + free_.size() * kChunkBytes;
    want = held < limit_ ? static_cast<size_t>((limit_ - held) / kChunkBytes) : 0;
  }
  if (want == 0) return;
  const size_t bytes = want * kChunkBytes;
  uint8_t* base = reserve_aligned(bytes);
  if (mmap(base, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
    refused("mmap", bytes);
  if (huge_pages_) madvise(base, bytes, MADV_HUGEPAGE);
  for (size_t off = 0; off < bytes; off += 4096) base[off] = 0;  // fault every page in now
  const std::lock_guard lock(mutex_);
  for (size_t i = 0; i < want; ++i) free_.push_back(base + i * kChunkBytes);
}

PooledBuffer PagePool::acquire(size_t bytes, size_t head) {
  if (head >= kChunkBytes)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("a buffer's head ({} bytes) must be under a chunk", head));
  bytes += head;  // from here on, the span of chunks
  const size_t chunks = chunks_for(bytes);
  std::vector<uint8_t*> reused;
  {
    const std::lock_guard lock(mutex_);
    const size_t take = std::min(chunks, free_.size());
    reused.assign(free_.end() - static_cast<std::ptrdiff_t>(take), free_.end());
    free_.resize(free_.size() - take);
    live_bytes_ += bytes;
  }
  uint8_t* base = nullptr;
  try {
    base = reserve_aligned(chunks * kChunkBytes);
    for (size_t i = 0; i < chunks; ++i) {
      uint8_t* dst = base + i * kChunkBytes;
      if (i < reused.size()) {
        if (mremap(reused[i], kChunkBytes, kChunkBytes, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED)
          refused("mremap", kChunkBytes);
        reused[i] = nullptr;  // now part of the buffer
        continue;
      }
      // The rest are fresh pages, faulted in by the copy that fills them.
      const size_t fresh = (chunks - i) * kChunkBytes;
      if (mmap(dst, fresh, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        refused("mmap", fresh);
      if (huge_pages_) madvise(dst, fresh, MADV_HUGEPAGE);
      break;
    }
  } catch (...) {
    const std::lock_guard lock(mutex_);
    live_bytes_ -= bytes;
    for (uint8_t* chunk : reused)
      if (chunk) free_.push_back(chunk);
    if (base) munmap(base, chunks * kChunkBytes);  // takes the chunks already moved in with it
    throw;
  }
  return PooledBuffer(this, base + head, bytes - head, head);
}

void PagePool::give_back(uint8_t* data, size_t size) {
  const size_t chunks = chunks_for(size);
  size_t keep = 0;
  {
    const std::lock_guard lock(mutex_);
    live_bytes_ -= size;
    const uint64_t held = live_bytes_ + free_.size() * kChunkBytes;
    keep = held < limit_ ? std::min<size_t>(chunks, static_cast<size_t>((limit_ - held) / kChunkBytes)) : 0;
    for (size_t i = 0; i < keep; ++i) free_.push_back(data + i * kChunkBytes);
  }
  if (keep < chunks) munmap(data + keep * kChunkBytes, (chunks - keep) * kChunkBytes);
}

uint64_t PagePool::retained_bytes() const {
  const std::lock_guard lock(mutex_);
  return free_.size() * kChunkBytes;
}

}  // namespace chorus::runtime
