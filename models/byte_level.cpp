#include "models/byte_level.h"

#include <array>
#include <cstdint>

#include "models/utf8.h"

namespace chorus::models {

namespace {

bool is_shown_as_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct ByteLevelTables {
  std::array<uint32_t, 256> code_point_of_byte{};
  std::array<std::string, 256> utf8_of_byte;
  // 256 bytes are shown by code points below U+0100 + 68 (the count of bytes not shown as themselves).
  std::array<int16_t, 256 + 68> byte_of_code_point{};
  ByteLevelTables() {
    byte_of_code_point.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      code_point_of_byte[b] = is_shown_as_itself(b) ? static_cast<uint32_t>(b) : next++;
      append_utf8(utf8_of_byte[b], code_point_of_byte[b]);
      byte_of_code_point[code_point_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

std::string byte_level_encode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.utf8_of_byte[static_cast<unsigned char>(c)];
  return out;
}

std::optional<unsigned char> byte_level_decode_code_point(uint32_t cp) {
  const auto& table = tables().byte_of_code_point;
  if (cp >= table.size() || table[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(table[cp]);
}

std::string byte_level_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const auto lead = static_cast<uint8_t>(text[pos]);
    size_t len = utf8_sequence_length(lead);
    if (len > text.size() - pos) len = text.size() - pos;
    uint32_t cp = len == 1 ? lead : lead & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
    if (const auto b = byte_level_decode_code_point(cp)) {
      out += static_cast<char>(*b);
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  return out;
}

}  // namespace chorus::models
