// Finds special tokens written literally in text ("<|im_start|>user"), before
// the rest of the text is tokenized, as llama.cpp and Hugging Face do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "models/byte_range.h"
#include "models/vocabulary.h"

namespace chorus::models {

// A stretch of the input: either a special token (token >= 0) or plain text.
struct TextFragment {
  int32_t token = -1;
  std::string_view text;
};

class SpecialTokenMatcher {
 public:
  // Takes the vocabulary's control, unknown and user-defined tokens.
  explicit SpecialTokenMatcher(const Vocabulary& vocab);

  // Cuts text into fragments. User-defined tokens are always matched; control
  // and unknown tokens only when parse_special is true. Longer tokens are
  // searched for first, each one in every plain fragment left, so that a token
  // that contains another shorter one wins.
  std::vector<TextFragment> partition(std::string_view text, bool parse_special) const;
  // The same, but control and unknown tokens are matched only where they lie
  // wholly inside one of `special_ranges` (sorted, not overlapping): a chat
  // template's own markup, not the user's text inside it.
  std::vector<TextFragment> partition(std::string_view text, std::span<const ByteRange> special_ranges) const;

 private:
  struct Candidate {
    int32_t id;
    std::string_view text;  // into the vocabulary
    bool user_defined;
  };
  // All control and unknown tokens are allowed when special_ranges is null.
  std::vector<TextFragment> split(std::string_view text, bool parse_special, const std::span<const ByteRange>* special_ranges) const;
  std::vector<Candidate> candidates_;  // longest first
};

}  // namespace chorus::models
