#include "runtime/anonymous_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

AnonymousBuffer::AnonymousBuffer(size_t bytes, bool huge_pages) {
  if (bytes == 0) return;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  mapped_ = (bytes + page - 1) / page * page;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw Error(ErrorCode::kResourceExhausted, fmt::format("cannot map {} bytes of anonymous memory", bytes));
  // Advice only: where transparent huge pages are off, the kernel refuses it and small pages serve.
  if (huge_pages) madvise(p, mapped_, MADV_HUGEPAGE);
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
}

AnonymousBuffer::~AnonymousBuffer() { release(); }

AnonymousBuffer::AnonymousBuffer(AnonymousBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

AnonymousBuffer& AnonymousBuffer::operator=(AnonymousBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void AnonymousBuffer::release() {
  if (data_) munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

}  // namespace chorus::runtime
