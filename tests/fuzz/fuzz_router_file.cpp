// libFuzzer target for the router model file loader: any input must either
// load or throw chorus::Error. Two modes, chosen by the first byte:
//  - even: the bytes are a router file, loaded through the real path
//    (load_router) and once more with the checksum check off, so the parser
//    behind the checksum is reached too;
//  - odd: the rest is [u16 metadata length][metadata][payload], wrapped in a
//    correct header and checksum, so mutations land on the JSON metadata and the
//    tensor bounds rather than on the checksum.
#include <cstdint>
#include <cstring>
#include <vector>

#include "chorus/error.h"
#include "router/router_file.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

void exercise(const chorus::router::RouterModel& m) {
  // Touch what routing touches: predict once on a short mixed-script text.
  static volatile float sink;
  const auto p = m.predict("Where is the café? 天气 погода");
  sink = p.score;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace chorus::router;
  if ((data[0] & 1) == 0) {
    chorus::fuzz::FuzzInputFile input(data + 1, size - 1);
    try {
      exercise(load_router(input.path()));
    } catch (const chorus::Error&) {
    }
    try {
      exercise(parse_router(data + 1, size - 1, "fuzz", /*verify_checksum=*/false));
    } catch (const chorus::Error&) {
    }
    return 0;
  }
  if (size < 3) return 0;
  size_t meta_len = static_cast<size_t>(data[1]) | (static_cast<size_t>(data[2]) << 8);
  const uint8_t* rest = data + 3;
  const size_t n = size - 3;
  if (meta_len > n) meta_len = n;
  std::vector<uint8_t> file(kRouterHeaderSize + n, 0);
  std::memcpy(file.data(), "CHRROUTE", 8);
  auto put = [&](size_t off, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) file[off + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(8, kRouterFileVersion, 4);
  put(12, kRouterHeaderSize, 4);
  put(16, meta_len, 8);
  put(24, n - meta_len, 8);
  if (n) std::memcpy(file.data() + kRouterHeaderSize, rest, n);
  put(32, router_checksum(file.data() + kRouterHeaderSize, n), 8);
  try {
    exercise(parse_router(file.data(), file.size(), "fuzz"));
  } catch (const chorus::Error&) {
  }
  return 0;
}
