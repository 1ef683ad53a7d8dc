// How the forward pass reaches a sequence's keys and values. The runtime owns
// the storage (a contiguous cache, or the paged cache with block tables); the
// model writes one position's K/V rows and reads a sequence's positions as
// runs of consecutive rows (one run per block), so attention works over block
// tables directly, without gathering them into a copy.
#pragma once

#include <cstdint>

namespace chorus::models {

enum class KvType { kF32, kF16 };

// Positions [first, first + n) of one sequence in one layer: row i of K is at
// k + i * row_stride elements (each row kv_dim elements of the cache's type).
struct KvRun {
  const void* k;
  const void* v;
  int32_t first;
  int32_t n;
  int64_t row_stride;
};

class KvState {
 public:
  virtual ~KvState() = default;
  virtual KvType type() const = 0;
  // Makes positions [0, end) of `seq` writable; throws chorus::Error
  // (kResourceExhausted) when the storage cannot hold them, changing nothing.
  virtual void reserve(int32_t seq, int32_t end) = 0;
  // Stores kv_dim floats each of K and V at a reserved position.
  virtual void write(int32_t layer, int32_t seq, int32_t pos, const float* k, const float* v) = 0;
  // The run that holds position `pos` (reserved positions only), clipped to end before `end`.
  virtual KvRun run(int32_t layer, int32_t seq, int32_t pos, int32_t end) const = 0;
};

}  // namespace chorus::models
