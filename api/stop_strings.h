// Stop strings over streamed text: tokens are handed on only once their text
// can no longer be the start of a stop string, and the text ends before the
// first stop string found.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace chorus::api {

class StopStrings {
 public:
  // `emit` receives each token with the part of its piece that belongs to the
  // answer; it returns false to stop (the caller's callback said so).
  using Emit = std::function<bool(int32_t token, const std::string& piece)>;
  StopStrings(std::vector<std::string> stops, Emit emit);

  // Appends a token; false once a stop string has appeared or `emit` said stop.
  bool push(int32_t token, const std::string& piece);
  // Hands on what was held back (the generation ended without a stop string).
  void flush();

  bool stopped_by_string() const { return matched_; }
  bool stopped_by_callback() const { return refused_; }
  const std::string& text() const { return text_; }  // the answer so far (cut at a stop string)
  int32_t tokens_kept() const { return kept_; }      // tokens whose text is in the answer, wholly or partly

 private:
  size_t held_from(size_t end) const;  // where the text that might start a stop string begins
  bool emit_until(size_t end);

  std::vector<std::string> stops_;
  Emit emit_;
  std::string text_;
  struct Held { int32_t token; size_t begin, end; };
  std::deque<Held> held_;
  int32_t kept_ = 0;
  bool matched_ = false, refused_ = false;
};

}  // namespace chorus::api
