#include "models/special_tokens.h"

#include <algorithm>

namespace chorus::models {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocabulary& vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType type = vocab.types[id];
    if (vocab.texts[id].empty()) continue;
    if (type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kUserDefined)
      candidates_.push_back({id, vocab.texts[id], type == TokenType::kUserDefined});
  }
  std::stable_sort(candidates_.begin(), candidates_.end(),
                   [](const Candidate& a, const Candidate& b) { return a.text.size() > b.text.size(); });
}

std::vector<TextFragment> SpecialTokenMatcher::partition(std::string_view text, bool parse_special) const {
  return split(text, parse_special, nullptr);
}

std::vector<TextFragment> SpecialTokenMatcher::partition(std::string_view text,
                                                         std::span<const ByteRange> special_ranges) const {
  return split(text, true, &special_ranges);
}

std::vector<TextFragment> SpecialTokenMatcher::split(std::string_view text, bool parse_special,
                                                     const std::span<const ByteRange>* special_ranges) const {
  // Whether a control token found at [begin, end) of text may be taken as one.
  const auto allowed = [&](size_t begin, size_t end) {
    if (!special_ranges) return true;
    const auto r = std::upper_bound(special_ranges->begin(), special_ranges->end(), begin,
                                    [](size_t at, const ByteRange& range) { return at < range.end; });
    return r != special_ranges->end() && r->begin <= begin && end <= r->end;
  };
  std::vector<TextFragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, text});
  std::vector<TextFragment> next;
  for (const Candidate& candidate : candidates_) {
    if (!parse_special && !candidate.user_defined) continue;
    next.clear();
    bool found = false;
    for (const TextFragment& fragment : fragments) {
      if (fragment.token >= 0) {
        next.push_back(fragment);
        continue;
      }
      std::string_view rest = fragment.text;
      for (size_t from = 0, at = rest.find(candidate.text); at != std::string_view::npos; at = rest.find(candidate.text, from)) {
        const size_t begin = static_cast<size_t>(rest.data() - text.data()) + at;
        if (!candidate.user_defined && !allowed(begin, begin + candidate.text.size())) {
          from = at + 1;  // written by the user: plain text
          continue;
        }
        from = 0;
        found = true;
        if (at > 0) next.push_back({-1, rest.substr(0, at)});
        next.push_back({candidate.id, rest.substr(at, candidate.text.size())});
        rest.remove_prefix(at + candidate.text.size());
      }
      if (!rest.empty()) next.push_back({-1, rest});
    }
    if (found) fragments.swap(next);
  }
  return fragments;
}

}  // namespace chorus::models
