#include "tools/serve/sse.h"

#include <utility>

namespace chorus::serve {

std::string sse_event(const nlohmann::json& data) {
  return "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string Utf8Carry::take(std::string_view piece) {
  pending_.append(piece);
  // Find the last lead byte among the final three bytes; hold it back if its character is not complete.
  size_t keep_from = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const auto c = static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) keep_from = pending_.size() - back;
    break;
  }
  std::string out = pending_.substr(0, keep_from);
  pending_.erase(0, keep_from);
  return out;
}

std::string Utf8Carry::flush() { return std::exchange(pending_, {}); }

}  // namespace chorus::serve
