// The GPT-2 byte <-> unicode mapping of byte-level BPE: every byte is shown as
// a printable code point (printable Latin-1 bytes as themselves, the others as
// U+0100 upwards, so a space becomes "Ġ" and a newline "Ċ"), which lets
// vocabularies and merges be written as text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chorus::models {

// Each byte of `bytes` replaced by the UTF-8 of its code point.
std::string byte_level_encode(std::string_view bytes);
// The byte a byte-level code point stands for, or nullopt when it stands for none.
std::optional<unsigned char> byte_level_decode_code_point(uint32_t code_point);
// Inverse of byte_level_encode. Code points outside the mapping (such as in
// added tokens) are kept as their UTF-8.
std::string byte_level_decode(std::string_view text);

}  // namespace chorus::models
