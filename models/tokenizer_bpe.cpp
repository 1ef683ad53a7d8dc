// The text is cut by the pre-tokenizer; each piece is written in the GPT-2
// byte alphabet (byte_level.h), cut into characters, and adjacent symbols
// merge by the rank of their pair in the merge list, lowest rank first.
#include "models/tokenizer_bpe.h"

#include <unordered_map>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/byte_level.h"
#include "models/pair_merge.h"
#include "models/utf8.h"
#include "models/vocab_tokenizer.h"

namespace chorus::models {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

class ByteLevelBpeTokenizer final : public VocabTokenizer {
 public:
  ByteLevelBpeTokenizer(Vocabulary vocab, const std::vector<std::string_view>& merges, const std::string& merges_source,
                        const PretokenizerSpec& spec, bool add_bos)
      : VocabTokenizer(std::move(vocab), add_bos), pretokenizer_(spec.regexes), ignore_merges_(spec.ignore_merges) {
    merges_.reserve(merges.size());
    std::string merged;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const std::string_view line = merges[rank];
      const auto fail = [&](const std::string& what) {
        throw Error(ErrorCode::kFormat, fmt::format("{}: merge {} '{}': {}", merges_source, rank, line, what));
      };
      // The left half may itself start with a space, so the separator is looked for from the second byte.
      const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
      if (space == std::string_view::npos || space + 1 >= line.size()) fail("expected two tokens separated by a space");
      const std::string_view left = line.substr(0, space);
      const std::string_view right = line.substr(space + 1);
      const std::optional<int32_t> left_id = this->vocab().find(left);
      const std::optional<int32_t> right_id = this->vocab().find(right);
      merged.assign(left).append(right);
      const std::optional<int32_t> merged_id = this->vocab().find(merged);
      if (!left_id) fail(fmt::format("'{}' is not in the vocabulary", left));
      if (!right_id) fail(fmt::format("'{}' is not in the vocabulary", right));
      if (!merged_id) fail(fmt::format("'{}' is not in the vocabulary", merged));
      // The first occurrence of a pair keeps the lowest rank.
      merges_.emplace(pair_key(*left_id, *right_id), Merge{static_cast<int32_t>(rank), *merged_id});
    }
  }

  std::string token_to_piece(int32_t id) const override {
    check_id(id);
    const std::string& text = vocab().texts[id];
    switch (vocab().types[id]) {
      case TokenType::kNormal:
      case TokenType::kUndefined:
        return byte_level_decode(text);
      case TokenType::kByte:
        if (const auto byte = parse_byte_token(text)) return std::string(1, static_cast<char>(*byte));
        return text;
      default:
        return text;
    }
  }

  bool adds_space_prefix() const override { return false; }

 protected:
  void encode_plain_text(std::string_view plain, bool, std::vector<int32_t>& out) const override {
    const std::string text = sanitize_utf8(plain);
    std::vector<MergeSymbol> symbols;
    for (std::string_view piece : pretokenizer_.split(text)) {
      const std::string word = byte_level_encode(piece);
      if (ignore_merges_) {
        if (const std::optional<int32_t> id = vocab().find(word)) {
          out.push_back(*id);
          continue;
        }
      }
      symbols.clear();
      for (size_t pos = 0; pos < word.size();) {
        const size_t len = std::min(utf8_sequence_length(static_cast<uint8_t>(word[pos])), word.size() - pos);
        const std::optional<int32_t> id = vocab().find(std::string_view(word).substr(pos, len));
        symbols.push_back({id ? *id : -1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
        pos += len;
      }
      merge_adjacent_pairs(symbols, [&](const MergeSymbol& left, const MergeSymbol& right) -> std::optional<PairMerge> {
        if (left.id < 0 || right.id < 0) return std::nullopt;
        const auto it = merges_.find(pair_key(left.id, right.id));
        if (it == merges_.end()) return std::nullopt;
        return PairMerge{it->second.merged_id, -static_cast<double>(it->second.rank)};
      });
      for (const MergeSymbol& s : symbols) {
        if (s.size == 0) continue;
        if (s.id >= 0) {
          out.push_back(s.id);
          continue;
        }
        // A byte-level character missing from the vocabulary: llama.cpp then
        // looks up each of its UTF-8 bytes alone, which finds only ASCII ones.
        for (uint32_t i = 0; i < s.size; ++i)
          if (const std::optional<int32_t> id = vocab().find(std::string_view(word).substr(s.begin + i, 1)))
            out.push_back(*id);
      }
    }
  }

 private:

  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  RegexPretokenizer pretokenizer_;
  bool ignore_merges_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> merge
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_level_bpe_tokenizer(Vocabulary vocab, const std::vector<std::string_view>& merges,
                                                         const std::string& merges_source,
                                                         const PretokenizerSpec& pretokenizer, bool add_bos) {
  return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges, merges_source, pretokenizer, add_bos);
}

}  // namespace chorus::models
