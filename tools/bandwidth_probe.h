// The machine's streaming read bandwidth, measured in the same run as a
// benchmark so that results can be given as a fraction of the limit.
#pragma once

#include <cstddef>

namespace chorus::cli {

// GB/s (1e9 bytes/s) of summing a buffer of `bytes` with the current OpenMP
// thread count; the best of a few passes.
double stream_read_gb_s(size_t bytes = size_t{512} << 20);

}  // namespace chorus::cli
