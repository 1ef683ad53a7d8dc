// libFuzzer target for the llama2.c tokenizer.bin loader and its encoder: any
// input must either load or throw chorus::Error, and a loaded tokenizer must
// encode and decode any text without crashing.
//
// The input is the file itself. It is loaded twice: with 512 tokens (the size
// of the seed tok512.bin, so mutations stay close to real files) and with a
// small size taken from the last byte, which reaches "file longer than the
// vocabulary" and vocabularies too small to hold the byte tokens.
#include <cstdint>
#include <span>
#include <string>

#include "chorus/error.h"
#include "models/tokenizer.h"

namespace {

void exercise(const chorus::models::Tokenizer& tok, std::span<const uint8_t> data) {
  // Texts that reach the byte fallback, invalid UTF-8 and merges; plus the input's own bytes as text.
  const std::string texts[] = {"Once upon a time", "h\xC3\xA9llo \xF0\x9F\xA6\x99", "\xFF\xC3(\x80 \xF0\x9F", " ",
                               std::string(reinterpret_cast<const char*>(data.data()), data.size() < 64 ? data.size() : 64)};
  for (const std::string& text : texts) {
    const std::vector<int32_t> ids = tok.encode(text, true);
    for (int32_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) __builtin_trap();  // an id outside the vocabulary is a bug
    (void)tok.decode(ids);
  }
  for (int32_t id = 0; id < tok.vocab_size(); ++id) (void)tok.token_to_piece(id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const int32_t small_size = size > 0 ? 1 + data[size - 1] % 300 : 1;
  for (int32_t vocab_size : {512, small_size}) {
    try {
      const auto tok = chorus::models::load_llama2c_tokenizer(bytes, vocab_size, "fuzz-input");
      exercise(*tok, bytes);
    } catch (const chorus::Error&) {
    }
  }
  return 0;
}
