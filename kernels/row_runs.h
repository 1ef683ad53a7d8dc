// How matmul cuts the rows of a call's outputs into units of work for its
// threads: runs of consecutive rows of one output, sized by weight bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/matmul.h"

namespace chorus::kernels {

// Rows [begin, end) of output `output`.
struct RowRun {
  uint32_t output;
  int64_t begin, end;
};

// Runs of decreasing size ("guided"): each half a thread's share of the
// weight bytes left (over `threads`), at least kMinRunBytes per token, a
// multiple of 4 rows (the tiles stay whole) but for an output's last. Each
// run is one sequential read: every new run costs a stall while the hardware
// prefetcher finds the stream again, which fixed runs of 32 rows paid every
// 28 KB on 1536-wide q4_K rows (docs/kernels.md, seventh round); the small
// runs at the end keep the threads finishing together. Every output's rows
// in order, each row in exactly one run.
constexpr int64_t kMinRunBytes = 64 << 10;
void cut_into_runs(std::span<const MatmulOutput> outs, int64_t n_tokens, int threads, std::vector<RowRun>& runs);

}  // namespace chorus::kernels
