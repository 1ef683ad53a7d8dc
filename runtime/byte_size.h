// Byte counts as people write them in configs ("512MiB", "1.5 GB", 1048576)
// and as inspect prints them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::runtime {

// A non-negative number with an optional unit: B, kB/KB, MB, GB, TB (powers of
// 1000) or KiB, MiB, GiB, TiB (powers of 1024). Throws chorus::Error
// (kInvalidArgument) naming `what` on anything else or on overflow.
uint64_t parse_byte_size(std::string_view text, std::string_view what);

// "1.5 GiB", "12.0 MiB", "512 B".
std::string format_byte_size(uint64_t bytes);

}  // namespace chorus::runtime
