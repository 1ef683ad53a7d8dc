// How the forward pass reaches a sequence's keys and values. The runtime owns
// the storage (a contiguous cache, or the paged cache with block tables); the
// model only asks for the row of one (layer, sequence, position).
#pragma once

#include <cstdint>

namespace chorus::models {

class KvState {
 public:
  virtual ~KvState() = default;
  // Makes positions [0, end) of `seq` writable; throws chorus::Error
  // (kResourceExhausted) when the storage cannot hold them.
  virtual void reserve(int32_t seq, int32_t end) = 0;
  // kv_dim floats each; valid for reserved positions until the next reserve().
  virtual float* key(int32_t layer, int32_t seq, int32_t pos) = 0;
  virtual float* value(int32_t layer, int32_t seq, int32_t pos) = 0;
};

}  // namespace chorus::models
