#include "models/vocabulary.h"

namespace chorus::models {

std::optional<std::pair<int32_t, int32_t>> Vocabulary::build_index() {
  index_.clear();
  index_.reserve(texts.size());
  std::optional<std::pair<int32_t, int32_t>> first_duplicate;
  for (int32_t id = 0; id < size(); ++id) {
    if (texts[id].empty()) continue;
    const auto [it, inserted] = index_.emplace(texts[id], id);
    if (!inserted && !first_duplicate) first_duplicate = std::make_pair(it->second, id);
  }
  return first_duplicate;
}

std::optional<int32_t> Vocabulary::find(std::string_view text) const {
  const auto it = index_.find(text);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint8_t> parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(text[3]);
  const int lo = hex(text[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

}  // namespace chorus::models
