// UTF-8 helpers shared by the tokenizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::models {

// Length of the UTF-8 sequence a lead byte announces, judged from its top four
// bits only (1 for ASCII and for stray continuation bytes). This is the cheap
// rule SentencePiece-style tokenizers use to cut text into "characters".
size_t utf8_sequence_length(uint8_t lead_byte);

// Appends the UTF-8 encoding of a code point (<= 0x10FFFF).
void append_utf8(std::string& out, uint32_t code_point);

// Returns the text with every byte that does not start a well-formed UTF-8
// sequence (bad lead byte, missing continuation, overlong form, surrogate,
// value above U+10FFFF) replaced by U+FFFD, one replacement per bad byte.
// Regex pre-tokenizers need valid UTF-8; llama.cpp makes the same replacement.
std::string sanitize_utf8(std::string_view text);
// True when sanitize_utf8 would leave the text unchanged.
bool is_valid_utf8(std::string_view text);

// Untrusted bytes made safe to print in a message or a listing: control bytes
// (C0, DEL, and the C1 code points U+0080-U+009F), invalid UTF-8 and NUL become
// \xNN (\n, \r, \t as such), so an ESC sequence in a file cannot reach the
// terminal and a NUL cannot cut a message short. Valid printable UTF-8 stays.
// keep_newlines leaves '\n' as it is (for whole multi-line messages).
std::string printable(std::string_view bytes, bool keep_newlines = false);

}  // namespace chorus::models
