#define PCRE2_CODE_UNIT_WIDTH 8
#include "models/pretokenizer.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"

namespace chorus::models {

struct RegexPretokenizer::CompiledRegex {
  pcre2_code* code = nullptr;
  ~CompiledRegex() { pcre2_code_free(code); }
};

RegexPretokenizer::RegexPretokenizer(const std::vector<std::string>& regexes) {
  for (const std::string& pattern : regexes) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    // DOLLAR_ENDONLY: `$` means the end of the piece, not "before a final newline".
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error_code, &error_offset, nullptr);
    if (!code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      throw Error(ErrorCode::kInternal, fmt::format("pre-tokenizer regex '{}': {} at offset {}", pattern,
                                                    reinterpret_cast<const char*>(message), error_offset));
    }
    // JIT is only a speed-up; the interpreter gives the same matches when it is unavailable.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    auto compiled = std::make_unique<CompiledRegex>();
    compiled->code = code;
    regexes_.push_back(std::move(compiled));
  }
}

RegexPretokenizer::~RegexPretokenizer() = default;

namespace {

struct MatchDataDeleter {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

// Appends the matches of `code` in `piece` and the stretches between them to `out`.
void split_piece(const pcre2_code* code, pcre2_match_data* md, std::string_view piece,
                 std::vector<std::string_view>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t offset = 0;
  size_t gap_start = 0;
  while (offset < piece.size()) {
    const int rc = pcre2_match(code, subject, piece.size(), offset, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(ErrorCode::kInternal,
                  fmt::format("pre-tokenizer regex match failed: {}", reinterpret_cast<const char*>(message)));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    const size_t start = ovector[0];
    const size_t end = ovector[1];
    if (end == start) {
      // An empty match cuts nothing; look again one character further on.
      offset = start + utf8_sequence_length(static_cast<uint8_t>(piece[start]));
      continue;
    }
    if (start > gap_start) out.push_back(piece.substr(gap_start, start - gap_start));
    out.push_back(piece.substr(start, end - start));
    gap_start = offset = end;
  }
  if (gap_start < piece.size()) out.push_back(piece.substr(gap_start));
}

}  // namespace

std::vector<std::string_view> RegexPretokenizer::split(std::string_view text) const {
  // Checked once here so that each match below can skip PCRE2's own check of the whole piece.
  if (!is_valid_utf8(text))
    throw Error(ErrorCode::kInvalidArgument, "pre-tokenizer input is not valid UTF-8");
  std::vector<std::string_view> pieces;
  if (!text.empty()) pieces.push_back(text);
  std::vector<std::string_view> next;
  for (const auto& regex : regexes_) {
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create_from_pattern(regex->code, nullptr));
    if (!md) throw Error(ErrorCode::kResourceExhausted, "pre-tokenizer: cannot allocate PCRE2 match data");
    next.clear();
    for (std::string_view piece : pieces) split_piece(regex->code, md.get(), piece, next);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace chorus::models
