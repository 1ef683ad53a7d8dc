#include "api/stop_strings.h"

#include <algorithm>

namespace chorus::api {

StopStrings::StopStrings(std::vector<std::string> stops, Emit emit) : emit_(std::move(emit)) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

size_t StopStrings::held_from(size_t end) const {
  // The longest suffix of text_[0, end) that is a proper prefix of a stop string.
  size_t from = end;
  for (const std::string& s : stops_)
    for (size_t n = std::min(s.size() - 1, end); n > 0; --n)
      if (text_.compare(end - n, n, s, 0, n) == 0) {
        from = std::min(from, end - n);
        break;
      }
  return from;
}

bool StopStrings::emit_until(size_t end) {
  while (!held_.empty() && held_.front().begin < end) {
    const Held h = held_.front();
    if (h.end > end && !matched_) break;  // part of it may still start a stop string
    held_.pop_front();
    const size_t stop_at = std::min(h.end, end);
    ++kept_;
    if (!emit_(h.token, text_.substr(h.begin, stop_at - h.begin))) {
      refused_ = true;
      text_.resize(stop_at);
      held_.clear();
      return false;
    }
  }
  return true;
}

bool StopStrings::push(int32_t token, const std::string& piece) {
  if (matched_ || refused_) return false;
  const size_t begin = text_.size();
  text_ += piece;
  held_.push_back({token, begin, text_.size()});
  // A stop string can only end inside the new piece.
  size_t match = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t from = begin >= s.size() ? begin - s.size() + 1 : 0;
    const size_t at = text_.find(s, from);
    if (at != std::string::npos) match = std::min(match, at);
  }
  if (match != std::string::npos) {
    matched_ = true;
    emit_until(match);
    text_.resize(match);
    held_.clear();
    return false;
  }
  return emit_until(held_from(text_.size()));
}

void StopStrings::flush() {
  if (!matched_ && !refused_) emit_until(text_.size() + 1);
}

}  // namespace chorus::api
