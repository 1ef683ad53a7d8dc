#include "models/vocab_tokenizer.h"

#include <algorithm>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::models {

VocabTokenizer::VocabTokenizer(Vocabulary vocab, bool add_bos)
    : vocab_(std::move(vocab)), add_bos_(add_bos), special_tokens_(vocab_) {
  std::sort(vocab_.end_of_generation.begin(), vocab_.end_of_generation.end());
}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  return encode_fragments(special_tokens_.partition(text, parse_special), add_bos);
}

std::vector<int32_t> VocabTokenizer::encode_with_special_ranges(std::string_view text, bool add_bos,
                                                                std::span<const ByteRange> special_ranges) const {
  return encode_fragments(special_tokens_.partition(text, special_ranges), add_bos);
}

std::vector<int32_t> VocabTokenizer::encode_fragments(const std::vector<TextFragment>& fragments, bool add_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && adds_bos()) ids.push_back(vocab_.bos);
  bool follows_special = true;
  for (const TextFragment& fragment : fragments) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      follows_special = true;
    } else {
      encode_plain_text(fragment.text, follows_special, ids);
      follows_special = false;
    }
  }
  return ids;
}

std::string VocabTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  bool first_piece = true;
  for (int32_t id : ids) {
    check_id(id);
    if ((id == vocab_.bos && adds_bos()) || id == vocab_.eos) continue;
    std::string piece = token_to_piece(id);
    if (first_piece && adds_space_prefix() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    first_piece = false;
    text += piece;
  }
  return text;
}

bool VocabTokenizer::is_end_of_generation(int32_t id) const {
  return std::binary_search(vocab_.end_of_generation.begin(), vocab_.end_of_generation.end(), id);
}

bool VocabTokenizer::is_control(int32_t id) const {
  check_id(id);
  const TokenType type = vocab_.types[id];
  return type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kUnused || id == vocab_.bos ||
         id == vocab_.eos || id == vocab_.unk;
}

void VocabTokenizer::check_id(int32_t id) const {
  if (!vocab_.contains_id(id))
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("token id {} is outside the vocabulary of {} tokens", id, vocab_.size()));
}

}  // namespace chorus::models
