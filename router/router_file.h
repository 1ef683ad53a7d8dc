// The router file: a fixed 48-byte header, a JSON metadata block and a payload
// of little-endian float32 arrays, with a 64-bit checksum over metadata and
// payload. Every size, offset and shape is checked before use; a corrupt,
// truncated or mismatched file is a chorus::Error (kFormat / kUnsupported / kIo)
// that names the file, the field and the offset.
//
//   offset  size  field
//   0       8     magic "CHRROUTE"
//   8       4     u32 format version (kRouterFileVersion)
//   12      4     u32 header size (48)
//   16      8     u64 metadata length in bytes (JSON, UTF-8)
//   24      8     u64 payload length in bytes
//   32      8     u64 checksum (router_checksum) of metadata + payload
//   40      8     u64 reserved, zero
//   48      ...   metadata, then payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "router/router_model.h"

namespace chorus::router {

// Version 2: an ensemble of classifier members (model.members, tensors "m<k>.<name>").
// Version 3 (written now): optional pooled token embeddings ("embeddings" metadata:
// pooling, rows, width, reserved, pieces; tensors emb.scores, emb.table, emb.shift,
// emb.scale). Version 2 files still load (no embeddings).
inline constexpr uint32_t kRouterFileVersion = 3;
inline constexpr uint32_t kRouterFileOldestVersion = 2;
inline constexpr size_t kRouterHeaderSize = 48;

// Fast 64-bit checksum (4 multiply-rotate lanes over 8-byte words, then tail bytes).
uint64_t router_checksum(const uint8_t* data, size_t n);

std::vector<uint8_t> serialize_router(const RouterModel& m);
// `name` is used in error messages. verify_checksum=false lets a fuzzer reach
// the parser behind the checksum.
RouterModel parse_router(const uint8_t* data, size_t n, const std::string& name, bool verify_checksum = true);

void save_router(const RouterModel& m, const std::string& path);
RouterModel load_router(const std::string& path);

}  // namespace chorus::router
