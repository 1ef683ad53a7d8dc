// Spaces become "▁" (U+2581), a "▁" is put in front of the text (and after
// each special token), the text is cut into UTF-8 characters, and adjacent
// symbols merge while their concatenation is a token, the pair whose token has
// the highest score first. A character left that is no token is spelled with
// byte tokens <0xXX>.
#include "models/tokenizer_spm.h"

#include <array>

#include "models/pair_merge.h"
#include "models/utf8.h"
#include "models/vocab_tokenizer.h"

namespace chorus::models {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁"

class SpmTokenizer final : public VocabTokenizer {
 public:
  SpmTokenizer(Vocabulary vocab, bool add_bos, bool add_space_prefix)
      : VocabTokenizer(std::move(vocab), add_bos), add_space_prefix_(add_space_prefix) {
    for (int b = 0; b < 256; ++b) {
      const char hex[] = "0123456789ABCDEF";
      const std::string byte_token = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
      std::optional<int32_t> id = this->vocab().find(byte_token);
      if (!id) id = this->vocab().find(std::string(1, static_cast<char>(b)));
      byte_ids_[b] = id ? *id : this->vocab().unk;
    }
  }

  std::string token_to_piece(int32_t id) const override {
    check_id(id);
    const std::string& text = vocab().texts[id];
    switch (vocab().types[id]) {
      case TokenType::kByte:
        if (const auto byte = parse_byte_token(text)) return std::string(1, static_cast<char>(*byte));
        return text;
      case TokenType::kNormal:
      case TokenType::kUndefined: {
        std::string piece;
        for (size_t pos = 0; pos < text.size();) {
          if (text.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
            piece += ' ';
            pos += kSpaceMark.size();
          } else {
            piece += text[pos++];
          }
        }
        return piece;
      }
      default:
        return text;
    }
  }

  bool adds_space_prefix() const override { return add_space_prefix_; }

 protected:
  void encode_plain_text(std::string_view plain, bool follows_special, std::vector<int32_t>& out) const override {
    std::string text;
    text.reserve(plain.size() + 8);
    if (add_space_prefix_ && follows_special) text += kSpaceMark;
    for (char c : plain) {
      if (c == ' ')
        text += kSpaceMark;
      else
        text += c;
    }

    std::vector<MergeSymbol> symbols;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min(utf8_sequence_length(static_cast<uint8_t>(text[pos])), text.size() - pos);
      const std::optional<int32_t> id = vocab().find(std::string_view(text).substr(pos, len));
      symbols.push_back({id ? *id : -1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
      pos += len;
    }
    merge_adjacent_pairs(symbols, [&](const MergeSymbol& left, const MergeSymbol& right) -> std::optional<PairMerge> {
      const std::optional<int32_t> id = vocab().find(std::string_view(text).substr(left.begin, left.size + right.size));
      if (!id) return std::nullopt;
      return PairMerge{*id, vocab().scores[*id]};
    });

    // A merged symbol is always a token; only single characters may need byte tokens.
    for (const MergeSymbol& s : symbols) {
      if (s.size == 0) continue;
      if (s.id >= 0) {
        out.push_back(s.id);
        continue;
      }
      for (uint32_t i = 0; i < s.size; ++i) {
        const int32_t byte_id = byte_ids_[static_cast<uint8_t>(text[s.begin + i])];
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  }

 private:
  bool add_space_prefix_;
  std::array<int32_t, 256> byte_ids_{};  // <0xXX>, else the byte as a token, else <unk> (or -1: dropped)
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocabulary vocab, bool add_bos, bool add_space_prefix) {
  return std::make_unique<SpmTokenizer>(std::move(vocab), add_bos, add_space_prefix);
}

}  // namespace chorus::models
