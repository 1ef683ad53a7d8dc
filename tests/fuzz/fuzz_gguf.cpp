// libFuzzer target for the GGUF reader: any input must either open or throw
// chorus::Error. Anything else (a crash, a sanitizer report, another
// exception, a huge allocation) is a bug.
#include <cstdint>

#include "chorus/error.h"
#include "models/gguf.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chorus::fuzz::FuzzInputFile input(data, size);
  try {
    chorus::models::GgufFile file(input.path());
    // Touch what a loader touches: every value and every tensor byte, so that a
    // bound that is wrong shows as a read out of the mapping.
    for (const auto& [key, value] : file.metadata()) (void)value.to_string();
    uint8_t checksum = 0;
    for (const auto& tensor : file.tensors()) {
      // The reader's promise, checked exactly: a read a little past the end of
      // the mapping can stay inside its last page, where ASan cannot see it.
      const uint64_t end = file.data_offset() + tensor.offset;
      if (end < tensor.offset || end > size || tensor.bytes > size - end) __builtin_trap();
      for (uint64_t i = 0; i < tensor.bytes; ++i) checksum ^= tensor.data[i];
    }
    static volatile uint8_t sink;  // keeps the reads from being optimised away
    sink = checksum;
    (void)file.get_string("general.architecture", "");
    (void)file.get_uint("general.alignment", 0);
  } catch (const chorus::Error&) {
  }
  return 0;
}
