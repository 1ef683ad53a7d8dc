// SentencePiece unigram tokenizer over a fixed vocabulary of (piece, score)
// pairs, as in the TF.js Universal Sentence Encoder lite: the text is
// lower-cased (router/unicode.h), "▁" is prepended and every space becomes
// "▁", then the segmentation with the highest total piece score is found by
// Viterbi over code points. A code point that starts no piece becomes the
// unknown id 0 (score: the lowest piece score − 10), and consecutive unknowns
// merge into one. The first `reserved` vocabulary entries (unknown, control
// symbols) are never matched; a piece listed twice (use-lite's vocab.json
// repeats one) takes its last id. Unicode NFKC normalisation is not applied.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chorus::router {

class PieceTokenizer {
 public:
  PieceTokenizer() = default;
  // Throws chorus::Error(kFormat) when sizes disagree, a score is not finite,
  // a piece is empty, or reserved exceeds the vocabulary.
  PieceTokenizer(std::vector<std::string> pieces, std::vector<float> scores, uint32_t reserved);

  const std::vector<std::string>& pieces() const { return pieces_; }
  const std::vector<float>& scores() const { return scores_; }
  uint32_t reserved() const { return reserved_; }
  bool empty() const { return pieces_.empty(); }

  std::vector<int32_t> encode(std::string_view text) const;

 private:
  // Hashes owned keys and the views encode() looks them up by alike.
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::u32string_view s) const { return std::hash<std::u32string_view>{}(s); }
  };

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  uint32_t reserved_ = 0;
  // piece (as code points) → id, for ids >= reserved; owned keys, so a copy stands alone
  std::unordered_map<std::u32string, int32_t, PieceHash, std::equal_to<>> lookup_;
  size_t max_len_ = 0;                                       // longest piece, in code points
  float unk_score_ = 0;
};

}  // namespace chorus::router
