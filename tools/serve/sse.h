// Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk,
// `data: [DONE]\n\n` last; and the UTF-8 carry that keeps a character split
// across two tokens out of two chunks.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace chorus::serve {

// One event; invalid UTF-8 in strings is written as U+FFFD.
std::string sse_event(const nlohmann::json& data);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// Token pieces may end inside a UTF-8 character: take() returns what is
// complete and keeps the unfinished tail for the next piece.
class Utf8Carry {
 public:
  std::string take(std::string_view piece);
  // The bytes still held (an unfinished character at the end of the answer).
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace chorus::serve
