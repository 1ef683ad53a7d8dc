// The byte-moving work of the weight store, one function per move. These run
// on loader threads without the store's lock; they touch only the buffers
// they are given and the file, which they open by path each time, so that a
// file that disappeared or changed since registration is an error here rather
// than a fault on a stale mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/expert_layout.h"

namespace chorus::runtime {

// The file an expert was registered from, as it was then.
struct ExpertFileRef {
  std::string path;
  uint64_t size;  // bytes at registration; a different size now is an error
};

// disk → host: the layout's span of the file into `host` (layout.host_bytes),
// with pread in chunks of `chunk_bytes`. Throws chorus::Error (kIo) naming the file.
void read_host_copy(const ExpertFileRef& file, const ExpertLayout& layout, uint8_t* host, size_t chunk_bytes);

// host → resident: one memcpy, or tensor by tensor with conversion.
void build_resident_from_host(const models::ModelFile& model, const ExpertLayout& layout, const uint8_t* host,
                              uint8_t* resident);

// disk → resident without a host copy: one read, or per tensor a read (into a
// scratch buffer of the tensor's size when it converts).
void build_resident_from_disk(const ExpertFileRef& file, const models::ModelFile& model, const ExpertLayout& layout,
                              uint8_t* resident, size_t chunk_bytes);

// Where in its first page a buffer for the layout's host bytes should start
// (see PagePool::acquire) so that reads into it can bypass the page cache.
size_t direct_read_head(const ExpertLayout& layout);

// Drops the file's pages from the page cache so that the next load reads the disk.
void drop_page_cache(const std::string& path);

}  // namespace chorus::runtime
