#include "runtime/tier_moves.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/dequantize.h"
#include "kernels/quantize.h"

namespace chorus::runtime {

namespace {

// Direct reads need the file offset, the address and the length aligned to
// the device's logical block; 4096 covers every common one.
constexpr uint64_t kDirectAlign = 4096;

// An open file descriptor, checked to still be the size it was at registration.
// Reads go around the page cache (O_DIRECT) where the destination shares the
// file's alignment: a buffered read costs the CPU a page-cache fill and a
// copy (0.6-1.0 s of system time per GB measured on the 2-core VM, which the
// decode running beside a load lost), a direct one almost nothing.
class CheckedFile {
 public:
  explicit CheckedFile(const ExpertFileRef& file) : path_(file.path) {
    fd_ = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open: {}", file.path, std::strerror(errno)));
    struct stat st {};
    const bool stat_ok = fstat(fd_, &st) == 0;
    if (!stat_ok || static_cast<uint64_t>(st.st_size) != file.size) {
      const int64_t now = stat_ok ? static_cast<int64_t>(st.st_size) : -1;
      ::close(fd_);
      throw Error(ErrorCode::kIo, fmt::format("{}: the file changed since it was registered ({} bytes, was {})",
                                              file.path, now, file.size));
    }
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    direct_fd_ = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);  // -1 where unsupported (tmpfs)
  }
  ~CheckedFile() {
    ::close(fd_);
    if (direct_fd_ >= 0) ::close(direct_fd_);
  }
  CheckedFile(const CheckedFile&) = delete;
  CheckedFile& operator=(const CheckedFile&) = delete;

  // [offset, offset + bytes) of the file into dst: the aligned middle directly
  // when dst and offset are aligned alike, the rest through the page cache.
  void read(uint64_t offset, uint64_t bytes, uint8_t* dst, size_t chunk_bytes) const {
    const uint64_t end = offset + bytes;
    const uint64_t first = (offset + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    const uint64_t last = end / kDirectAlign * kDirectAlign;
    const bool alike = (reinterpret_cast<uintptr_t>(dst) - offset) % kDirectAlign == 0;
    if (direct_fd_ < 0 || !alike || first >= last) {
      read_buffered(offset, bytes, dst, chunk_bytes);
      return;
    }
    read_buffered(offset, first - offset, dst, chunk_bytes);
    const uint64_t done = read_direct(first, last - first, dst + (first - offset), chunk_bytes);
    read_buffered(first + done, end - first - done, dst + (first + done - offset), chunk_bytes);
  }

 private:
  void read_buffered(uint64_t offset, uint64_t bytes, uint8_t* dst, size_t chunk_bytes) const {
    while (bytes > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(bytes, chunk_bytes));
      const ssize_t got = ::pread(fd_, dst, want, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw read_failed(offset, got);
      dst += got;
      offset += static_cast<uint64_t>(got);
      bytes -= static_cast<uint64_t>(got);
    }
  }

  // Reads aligned chunks until done or the file system refuses a direct read
  // (EINVAL) or returns a short one; returns the bytes read.
  uint64_t read_direct(uint64_t offset, uint64_t bytes, uint8_t* dst, size_t chunk_bytes) const {
    const uint64_t chunk = std::max<uint64_t>(kDirectAlign, chunk_bytes / kDirectAlign * kDirectAlign);
    uint64_t done = 0;
    while (done < bytes) {
      const size_t want = static_cast<size_t>(std::min(bytes - done, chunk));
      const ssize_t got = ::pread(direct_fd_, dst + done, want, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EINVAL) break;
      if (got <= 0) throw read_failed(offset + done, got);
      done += static_cast<uint64_t>(got);
      if (static_cast<size_t>(got) < want) break;
    }
    return done / kDirectAlign * kDirectAlign;  // a short read's tail is read again, buffered
  }

  Error read_failed(uint64_t offset, ssize_t got) const {
    return Error(ErrorCode::kIo, fmt::format("{}: offset {}: read failed: {}", path_, offset,
                                             got == 0 ? "the file ends early" : std::strerror(errno)));
  }

  std::string path_;
  int fd_ = -1;
  int direct_fd_ = -1;
};

void convert_tensor(const models::TensorInfo& t, const TensorPlacement& p, const uint8_t* src, uint8_t* dst) {
  const int64_t cols = t.dims[0];
  const int64_t rows = t.dims[1];
  const size_t src_row = kernels::row_bytes(t.type, cols);
  const size_t dst_row = kernels::row_bytes(p.resident_type, cols);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    kernels::dequantize_row(t.type, src + r * src_row, row.data(), cols);
    kernels::quantize_row(p.resident_type, row.data(), dst + r * dst_row, cols);
  }
}

}  // namespace

void read_host_copy(const ExpertFileRef& file, const ExpertLayout& layout, uint8_t* host, size_t chunk_bytes) {
  CheckedFile(file).read(layout.file_offset, layout.host_bytes, host, chunk_bytes);
}

void build_resident_from_host(const models::ModelFile& model, const ExpertLayout& layout, const uint8_t* host,
                              uint8_t* resident) {
  if (!layout.converts) {
    std::memcpy(resident, host, layout.host_bytes);
    return;
  }
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const TensorPlacement& p = layout.tensors[i];
    if (p.resident_type == model.tensors[i].type)
      std::memcpy(resident + p.resident_offset, host + p.host_offset, p.host_bytes);
    else
      convert_tensor(model.tensors[i], p, host + p.host_offset, resident + p.resident_offset);
  }
}

void build_resident_from_disk(const ExpertFileRef& file, const models::ModelFile& model, const ExpertLayout& layout,
                              uint8_t* resident, size_t chunk_bytes) {
  const CheckedFile in(file);
  if (!layout.converts) {
    in.read(layout.file_offset, layout.host_bytes, resident, chunk_bytes);
    return;
  }
  std::vector<uint8_t> scratch;
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const TensorPlacement& p = layout.tensors[i];
    const uint64_t offset = layout.file_offset + p.host_offset;
    if (p.resident_type == model.tensors[i].type) {
      in.read(offset, p.host_bytes, resident + p.resident_offset, chunk_bytes);
    } else {
      scratch.resize(p.host_bytes);
      in.read(offset, p.host_bytes, scratch.data(), chunk_bytes);
      convert_tensor(model.tensors[i], p, scratch.data(), resident + p.resident_offset);
    }
  }
}

size_t direct_read_head(const ExpertLayout& layout) { return layout.file_offset % kDirectAlign; }

void drop_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // a file that is gone has no pages to drop
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

}  // namespace chorus::runtime
