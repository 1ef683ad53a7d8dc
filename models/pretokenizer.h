// Pre-tokenizers of byte-level BPE vocabularies: the text is cut into pieces by
// regular expressions before BPE runs inside each piece. The expressions are
// compiled with PCRE2 in UTF + UCP mode, so \p{L}, \p{N}, \s, ... follow the
// Unicode properties, as in the Hugging Face tokenizers they come from.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::models {

// What a `tokenizer.ggml.pre` name stands for.
struct PretokenizerSpec {
  // Applied in turn: the first splits the text, each next one splits every
  // piece the previous produced (a Hugging Face "Sequence" of Split steps).
  std::vector<std::string> regexes;
  // A piece that is a token as a whole becomes that token without merging (Llama 3).
  bool ignore_merges = false;
  // Default for tokenizer.ggml.add_bos_token when the file does not say.
  bool add_bos = false;
};

// The spec of a pre-tokenizer name, or nullptr for a name chorus does not know.
const PretokenizerSpec* find_pretokenizer_spec(std::string_view name);
// The names find_pretokenizer_spec knows, for messages and docs.
std::vector<std::string> known_pretokenizer_names();

class RegexPretokenizer {
 public:
  // Throws chorus::Error (kInternal) when an expression does not compile.
  explicit RegexPretokenizer(const std::vector<std::string>& regexes);
  ~RegexPretokenizer();
  RegexPretokenizer(const RegexPretokenizer&) = delete;
  RegexPretokenizer& operator=(const RegexPretokenizer&) = delete;

  // Cuts valid UTF-8 (see sanitize_utf8; anything else is a kInvalidArgument
  // error) into pieces that cover the text in order: every match of an
  // expression is a piece, and so is every stretch between matches. An
  // expression sees one piece at a time, so look-aheads and `$` stop at the
  // piece's end. The views point into `text`.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct CompiledRegex;
  std::vector<std::unique_ptr<CompiledRegex>> regexes_;
};

}  // namespace chorus::models
