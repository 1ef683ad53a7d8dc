// libFuzzer target for the GGUF tokenizer loader: any file the GGUF reader
// accepts must give a tokenizer or a chorus::Error, and a tokenizer must
// encode and decode any text without crashing or producing an id outside its
// vocabulary.
#include <cstdint>
#include <string>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/tokenizer.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chorus::fuzz::FuzzInputFile input(data, size);
  try {
    const chorus::models::GgufFile file(input.path());
    const auto tok = chorus::models::load_gguf_tokenizer(file);
    const std::string texts[] = {"Hello world 123", "<s><|im_start|>user\n\xC3\xA9\xF0\x9F\xA6\x99", "\xFF\xC3(", "  "};
    for (const std::string& text : texts) {
      for (bool parse_special : {false, true}) {
        const std::vector<int32_t> ids = tok->encode(text, true, parse_special);
        for (int32_t id : ids)
          if (id < 0 || id >= tok->vocab_size()) __builtin_trap();  // an id outside the vocabulary is a bug
        (void)tok->decode(ids);
      }
    }
  } catch (const chorus::Error&) {
  }
  return 0;
}
