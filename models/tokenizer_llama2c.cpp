// llama2.c's tokenizer.bin and the encoder of llama2.c's run.c. The file is
// int32 max_token_length, then for each token: float32 score, int32 length,
// the token's bytes (spaces written as spaces, bytes as "<0xXX>").
//
// Encoding follows run.c's encode() exactly: a " " goes in front of non-empty
// text, the text is cut into UTF-8 code points (at most 4 bytes), a code point
// that is no token becomes byte tokens (id = byte + 3), and then the adjacent
// pair whose concatenated token text is a token with the highest score (the
// leftmost among equals, scores above -1e10 only) merges, until none does.
// run.c rescans every pair after each merge; pair_merge.h gives the same
// result with a priority queue.
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/pair_merge.h"
#include "models/tokenizer.h"
#include "models/vocab_tokenizer.h"

namespace chorus::models {

namespace {

constexpr int32_t kByteTokenOffset = 3;  // ids 0..2 are <unk>, <s>, </s>
constexpr float kNoMergeScore = -1e10f;   // run.c's starting "best score"

class Llama2cTokenizer final : public VocabTokenizer {
 public:
  explicit Llama2cTokenizer(Vocabulary vocab) : VocabTokenizer(std::move(vocab), /*add_bos=*/true) {}

  std::string token_to_piece(int32_t id) const override {
    check_id(id);
    const std::string& text = vocab().texts[id];
    if (const auto byte = parse_byte_token(text)) return std::string(1, static_cast<char>(*byte));
    return text;
  }

  bool adds_space_prefix() const override { return true; }

 protected:
  // The vocabulary has no special token types, so this sees the whole text.
  void encode_plain_text(std::string_view plain, bool, std::vector<int32_t>& out) const override {
    // Built by append: GCC 12 reads `" " + std::string(plain)` as a possibly overlapping memcpy (-Wrestrict).
    std::string text(1, ' ');
    text.append(plain);
    std::vector<MergeSymbol> symbols;
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto is_continuation = [&](size_t at) {
        return at < text.size() && (static_cast<uint8_t>(text[at]) & 0xC0) == 0x80;
      };
      if (!is_continuation(i)) start = i;
      const size_t len = i + 1 - start;
      if (is_continuation(i + 1) && len < 4) continue;
      if (const std::optional<int32_t> id = vocab().find(std::string_view(text).substr(start, len))) {
        symbols.push_back({*id, static_cast<uint32_t>(start), static_cast<uint32_t>(len)});
      } else {
        for (size_t b = start; b <= i; ++b) symbols.push_back({byte_token(static_cast<uint8_t>(text[b])), static_cast<uint32_t>(b), 1});
      }
      start = i + 1;
    }
    std::string pair_text;
    merge_adjacent_pairs(symbols, [&](const MergeSymbol& left, const MergeSymbol& right) -> std::optional<PairMerge> {
      if (left.id < 0 || right.id < 0) return std::nullopt;
      pair_text = vocab().texts[left.id];
      pair_text += vocab().texts[right.id];
      const std::optional<int32_t> id = vocab().find(pair_text);
      if (!id || !(vocab().scores[*id] > kNoMergeScore)) return std::nullopt;
      return PairMerge{*id, vocab().scores[*id]};
    });
    for (const MergeSymbol& s : symbols)
      if (s.size > 0) out.push_back(s.id);
  }

 private:
  // run.c's byte fallback; a vocabulary too small to hold byte tokens gives <unk>.
  int32_t byte_token(uint8_t byte) const {
    const int32_t id = byte + kByteTokenOffset;
    return id < vocab().size() ? id : 0;
  }
};

// Reads the little-endian fields of tokenizer.bin with bounds checks.
class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}
  template <class T>
  T read(const std::string& field) {
    T value;
    std::memcpy(&value, take(sizeof(T), field).data(), sizeof(T));
    return value;
  }
  std::span<const uint8_t> take(size_t n, const std::string& field) {
    if (n > bytes_.size() - pos_)
      throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: {}: needs {} bytes, only {} left", name_, pos_, field,
                                                  n, bytes_.size() - pos_));
    const auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t pos_ = 0;
};

}  // namespace

Vocabulary read_llama2c_vocabulary(std::span<const uint8_t> bytes, int32_t vocab_size, const std::string& name) {
  if (vocab_size <= 0)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: vocabulary size {} must be positive", name, vocab_size));
  ByteReader reader(bytes, name);
  const auto max_token_length = reader.read<int32_t>("max_token_length");
  if (max_token_length < 0)
    throw Error(ErrorCode::kFormat, fmt::format("{}: offset 0: max_token_length {} is negative", name, max_token_length));

  Vocabulary vocab;
  for (int32_t id = 0; id < vocab_size; ++id) {
    const std::string field = fmt::format("token {}", id);
    const auto score = reader.read<float>(field + " score");
    const size_t length_offset = reader.pos();
    const auto length = reader.read<int32_t>(field + " length");
    if (length < 0)
      throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: {} length {} is negative", name, length_offset, field, length));
    const auto text = reader.take(static_cast<size_t>(length), field + " text");
    vocab.texts.emplace_back(reinterpret_cast<const char*>(text.data()), text.size());
    vocab.scores.push_back(score);
    vocab.types.push_back(TokenType::kNormal);
  }
  // run.c looks tokens up by binary search; duplicates are not expected, the first id wins here.
  vocab.build_index();
  vocab.unk = 0;
  if (vocab_size > 1) vocab.bos = 1;
  if (vocab_size > 2) vocab.eos = 2;
  if (vocab.eos >= 0) vocab.end_of_generation.push_back(vocab.eos);
  return vocab;
}

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(std::span<const uint8_t> bytes, int32_t vocab_size,
                                                  const std::string& name) {
  return std::make_unique<Llama2cTokenizer>(read_llama2c_vocabulary(bytes, vocab_size, name));
}

namespace {
std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open the tokenizer file", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::kIo, fmt::format("{}: read failed", path));
  return bytes;
}
}  // namespace

Vocabulary read_llama2c_vocabulary(const std::string& path, int32_t vocab_size) {
  return read_llama2c_vocabulary(std::span<const uint8_t>(read_file(path)), vocab_size, path);
}

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int32_t vocab_size) {
  return load_llama2c_tokenizer(std::span<const uint8_t>(read_file(path)), vocab_size, path);
}

}  // namespace chorus::models
