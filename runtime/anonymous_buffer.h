// Page-aligned anonymous memory (mmap), optionally advised to use transparent
// huge pages. The host and resident tiers hold experts in these, so that
// freeing an expert gives its pages straight back to the system.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chorus::runtime {

class AnonymousBuffer {
 public:
  AnonymousBuffer() = default;
  // Throws chorus::Error (kResourceExhausted) when the system refuses the memory.
  AnonymousBuffer(size_t bytes, bool huge_pages);
  ~AnonymousBuffer();
  AnonymousBuffer(AnonymousBuffer&& other) noexcept;
  AnonymousBuffer& operator=(AnonymousBuffer&& other) noexcept;
  AnonymousBuffer(const AnonymousBuffer&) = delete;
  AnonymousBuffer& operator=(const AnonymousBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // size_ rounded up to whole pages
};

}  // namespace chorus::runtime
