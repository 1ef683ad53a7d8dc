// A tokenizer vocabulary: token texts, scores and types, the special ids, and
// a text -> id index. Shared by every tokenizer in models/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chorus::models {

// The token types of GGUF's tokenizer.ggml.token_type (SentencePiece's numbering).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,       // <s>, <|im_start|>, ...: only matched in text when asked to
  kUserDefined = 4,   // added tokens: always matched literally in text
  kUnused = 5,
  kByte = 6,          // <0xXX>
};

struct Vocabulary {
  std::vector<std::string> texts;
  std::vector<float> scores;     // one per token (0 when the format has none)
  std::vector<TokenType> types;  // one per token
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t unk = -1;
  std::vector<int32_t> end_of_generation;  // ids that end a generation

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  bool contains_id(int32_t id) const { return id >= 0 && id < size(); }

  // Builds the text -> id index. Empty texts are not indexed. When a text
  // appears twice, the first id keeps it and the pair of ids is returned so
  // that a loader can decide whether that is an error.
  std::optional<std::pair<int32_t, int32_t>> build_index();
  std::optional<int32_t> find(std::string_view text) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> index_;
};

// The byte a "<0xXX>" token text stands for (two upper- or lower-case hex digits).
std::optional<uint8_t> parse_byte_token(std::string_view text);

}  // namespace chorus::models

namespace chorus::models {

// The entries of a llama2.c tokenizer.bin, as stored (pieces with spaces, not "▁");
// throws chorus::Error naming the file, offset and field.
Vocabulary read_llama2c_vocabulary(std::span<const uint8_t> bytes, int32_t vocab_size, const std::string& name);
Vocabulary read_llama2c_vocabulary(const std::string& path, int32_t vocab_size);

}  // namespace chorus::models
