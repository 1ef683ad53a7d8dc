#include "router/sentencepiece.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "chorus/error.h"
#include "router/unicode.h"

namespace chorus::router {

namespace {
constexpr char32_t kSpace = U'\u2581';  // "▁"
}

PieceTokenizer::PieceTokenizer(std::vector<std::string> pieces, std::vector<float> scores, uint32_t reserved)
    : pieces_(std::move(pieces)), scores_(std::move(scores)), reserved_(reserved) {
  if (pieces_.size() != scores_.size() || pieces_.empty() || reserved_ > pieces_.size() ||
      pieces_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw Error(ErrorCode::kFormat, fmt::format("sentencepiece vocabulary: {} pieces, {} scores, {} reserved",
                                                pieces_.size(), scores_.size(), reserved_));
  float lowest = 0;
  for (size_t i = 0; i < pieces_.size(); ++i) {
    if (!std::isfinite(scores_[i]))
      throw Error(ErrorCode::kFormat, fmt::format("sentencepiece vocabulary: piece {} has a non-finite score", i));
    lowest = std::min(lowest, scores_[i]);
  }
  lookup_.reserve(pieces_.size());
  for (size_t i = reserved_; i < pieces_.size(); ++i) {
    std::u32string piece = utf8_decode(pieces_[i]);
    if (piece.empty()) throw Error(ErrorCode::kFormat, fmt::format("sentencepiece vocabulary: piece {} is empty", i));
    max_len_ = std::max(max_len_, piece.size());
    lookup_[std::move(piece)] = static_cast<int32_t>(i);  // a repeated piece: the last id wins, as in the TF.js trie
  }
  unk_score_ = lowest - 10.0f;
}

std::vector<int32_t> PieceTokenizer::encode(std::string_view text) const {
  std::u32string s = utf8_decode(lower_utf8(text));
  if (s.empty() || lookup_.empty()) return {};
  std::replace(s.begin(), s.end(), U' ', kSpace);
  s.insert(s.begin(), kSpace);
  const size_t n = s.size();
  constexpr double kNone = -std::numeric_limits<double>::infinity();
  std::vector<double> best(n + 1, kNone);
  std::vector<std::pair<size_t, int32_t>> back(n + 1, {0, 0});  // (start, id) of the last piece ending here
  best[0] = 0;
  const std::u32string_view sv(s);
  for (size_t i = 0; i < n; ++i) {
    if (best[i] == kNone) continue;
    bool single = false;
    for (size_t len = 1; len <= max_len_ && i + len <= n; ++len) {
      const auto it = lookup_.find(sv.substr(i, len));
      if (it == lookup_.end()) continue;
      single = single || len == 1;
      const double sc = best[i] + scores_[static_cast<size_t>(it->second)];
      if (sc > best[i + len]) best[i + len] = sc, back[i + len] = {i, it->second};
    }
    if (!single && best[i] + unk_score_ > best[i + 1]) best[i + 1] = best[i] + unk_score_, back[i + 1] = {i, 0};
  }
  std::vector<int32_t> ids;
  for (size_t j = n; j > 0; j = back[j].first) ids.push_back(back[j].second);
  std::reverse(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end(), [](int32_t a, int32_t b) { return a == 0 && b == 0; }), ids.end());
  return ids;
}

}  // namespace chorus::router
