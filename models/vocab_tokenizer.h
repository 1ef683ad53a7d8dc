// The part every vocabulary-based tokenizer shares: BOS, special tokens
// written in the text, decoding, lookups. Subclasses say how a stretch of
// plain text becomes ids and what text a token stands for.
#pragma once

#include "models/special_tokens.h"
#include "models/tokenizer.h"
#include "models/vocabulary.h"

namespace chorus::models {

class VocabTokenizer : public Tokenizer {
 public:
  // add_bos: whether the vocabulary asks for BOS (tokenizer.ggml.add_bos_token).
  VocabTokenizer(Vocabulary vocab, bool add_bos);

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const final;
  std::vector<int32_t> encode_with_special_ranges(std::string_view text, bool add_bos,
                                                  std::span<const ByteRange> special_ranges) const final;
  std::string decode(std::span<const int32_t> ids) const final;
  int32_t vocab_size() const final { return vocab_.size(); }
  int32_t bos_id() const final { return vocab_.bos; }
  int32_t eos_id() const final { return vocab_.eos; }
  bool adds_bos() const final { return add_bos_ && vocab_.bos >= 0; }
  bool is_end_of_generation(int32_t id) const final;
  bool is_control(int32_t id) const final;
  std::optional<int32_t> find_token(std::string_view text) const final { return vocab_.find(text); }

 protected:
  // Appends the ids of a stretch of plain text (never empty). `follows_special`
  // is true for the first stretch of the input and for one right after a special token.
  virtual void encode_plain_text(std::string_view text, bool follows_special, std::vector<int32_t>& out) const = 0;
  const Vocabulary& vocab() const { return vocab_; }
  // Throws kInvalidArgument for an id outside the vocabulary.
  void check_id(int32_t id) const;
  std::vector<int32_t> encode_fragments(const std::vector<TextFragment>& fragments, bool add_bos) const;

 private:
  Vocabulary vocab_;
  bool add_bos_;
  SpecialTokenMatcher special_tokens_;
};

}  // namespace chorus::models
