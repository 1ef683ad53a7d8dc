// libFuzzer target for llama2.c checkpoints: the header and the weight
// layout it implies, through the real reader (open_model_file on a file, as
// `generate --model x.bin` opens it), then the weight views the forward pass
// would read. Any input must open or throw chorus::Error; a checkpoint that
// opens must have every tensor inside the file.
#include <cstdint>

#include "chorus/error.h"
#include "models/llama_weights.h"
#include "models/model_file.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const chorus::fuzz::FuzzInputFile file(data, size);
  try {
    const chorus::models::ModelFile m = chorus::models::open_llama2c_model(file.path());
    for (const auto& t : m.tensors)
      if (t.bytes > size || t.file_offset > size - t.bytes) __builtin_trap();
    static volatile uint64_t sink;
    sink = chorus::models::bind_llama_weights(m).layers.size();
  } catch (const chorus::Error&) {
  }
  return 0;
}
