// UTF-8 decoding/encoding and simple (one-to-one) Unicode lower-casing.
// Invalid byte sequences decode to U+FFFD instead of failing: router input is
// untrusted text and must never crash or be silently dropped.
#pragma once

#include <string>
#include <string_view>

namespace chorus::router {

// Decodes UTF-8; overlong forms, surrogates, values above U+10FFFF and
// truncated sequences each become one U+FFFD.
std::u32string utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(std::u32string_view s);

// Simple lower-case mapping for Latin (incl. Latin-1, Extended-A, Extended
// Additional / Vietnamese), Greek, Cyrillic, Armenian and full-width Latin.
// Scripts without case (CJK, Arabic, Hebrew, ...) map to themselves.
char32_t to_lower(char32_t c);

// decode → lower-case → encode; the result is always valid UTF-8.
std::string lower_utf8(std::string_view s);

}  // namespace chorus::router
