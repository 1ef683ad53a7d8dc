// load_vocab_merges_tokenizer: a byte-level BPE vocabulary kept as two text
// files, vocab.txt (one token per line, the id is the line index) and
// merges.txt ("left right" per line, rank = line index, an optional
// "#version" header line as Hugging Face writes it).
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/pretokenizer.h"
#include "models/tokenizer.h"
#include "models/tokenizer_bpe.h"

namespace chorus::models {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open", path));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::kIo, fmt::format("{}: read failed", path));
  return content;
}

// The lines of a text file, without their "\n" or "\r\n". A final newline does not start another line.
std::vector<std::string_view> split_lines(std::string_view content) {
  std::vector<std::string_view> lines;
  while (!content.empty()) {
    const size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    content.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

std::unique_ptr<Tokenizer> load_vocab_merges_tokenizer(const std::string& vocab_path, const std::string& merges_path,
                                                       const std::string& pre) {
  const PretokenizerSpec* spec = find_pretokenizer_spec(pre);
  if (!spec)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("pre-tokenizer '{}' is not supported (supported: {})", pre,
                                                         fmt::join(known_pretokenizer_names(), ", ")));
  const std::string vocab_text = read_file(vocab_path);
  Vocabulary vocab;
  for (std::string_view line : split_lines(vocab_text)) {
    vocab.texts.emplace_back(line);
    vocab.scores.push_back(0.0f);
    vocab.types.push_back(TokenType::kNormal);
  }
  if (vocab.texts.empty()) throw Error(ErrorCode::kFormat, fmt::format("{}: the vocabulary is empty", vocab_path));
  if (const auto duplicate = vocab.build_index())
    throw Error(ErrorCode::kFormat, fmt::format("{}: line {}: token '{}' already on line {}", vocab_path,
                                                duplicate->second + 1, vocab.texts[duplicate->first], duplicate->first + 1));

  const std::string merges_text = read_file(merges_path);
  std::vector<std::string_view> merges = split_lines(merges_text);
  if (!merges.empty() && merges.front().starts_with("#version")) merges.erase(merges.begin());
  while (!merges.empty() && merges.back().empty()) merges.pop_back();
  return make_byte_level_bpe_tokenizer(std::move(vocab), merges, merges_path, *spec, spec->add_bos);
}

}  // namespace chorus::models
