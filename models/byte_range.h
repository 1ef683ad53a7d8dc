// A byte range [begin, end) of a text.
#pragma once

#include <cstddef>

namespace chorus::models {

struct ByteRange {
  size_t begin = 0, end = 0;
};

}  // namespace chorus::models
