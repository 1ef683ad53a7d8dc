// chorus tokenize: text -> token ids with a model's tokenizer.
#include <fmt/format.h>

#include "chorus/error.h"
#include "chorus/tokenizer.h"
#include "models/file_kind.h"
#include "tools/commands.h"

namespace chorus::cli {

namespace {

struct TokenizeOptions {
  std::string model;
  std::string tokenizer;  // llama2.c tokenizer.bin
  std::string vocab, merges, pre = "llama-bpe";
  std::string text;
  std::string cases;
  bool no_bos = false;
};

// The separator of llama.cpp's tokenizer test inputs (*.inp); one line of ids per input goes to *.out.
constexpr std::string_view kCaseSeparator = "\n__ggml_vocab_test__\n";

// As `generate` finds it: the GGUF's own vocabulary (any GGUF, even one without
// weights such as llama.cpp's ggml-vocab-*.gguf), or a llama2.c checkpoint's
// --tokenizer, else tokenizer.bin / tok<vocab>.bin beside it.
Tokenizer open_tokenizer(const TokenizeOptions& o) {
  if (!o.vocab.empty()) return Tokenizer::open_vocab_merges(o.vocab, o.merges, o.pre);
  if (o.model.empty()) throw Error(ErrorCode::kInvalidArgument, "give --model, or --vocab with --merges");
  return Tokenizer::open(o.model, o.tokenizer);
}

// llama.cpp's *.out layout: a space before every id.
std::string out_file_line(const std::vector<int32_t>& ids) {
  std::string line;
  for (int32_t id : ids) line += fmt::format(" {}", id);
  return line;
}

int run_tokenize(const TokenizeOptions& o) {
  const Tokenizer tokenizer = open_tokenizer(o);
  if (o.cases.empty()) {
    fmt::print("{}\n", fmt::join(tokenizer.encode(o.text, !o.no_bos, /*parse_special=*/true), " "));
    return 0;
  }
  // As llama.cpp's test-tokenizer-0: no BOS, special tokens not parsed, " id" per token.
  const std::string all = models::read_whole_file(o.cases, "test-case file");
  for (size_t pos = 0; pos < all.size();) {
    const size_t end = std::min(all.find(kCaseSeparator, pos), all.size());
    const std::string_view input = std::string_view(all).substr(pos, end - pos);
    fmt::print("{}\n", out_file_line(tokenizer.encode(input, false, false)));
    pos = end + kCaseSeparator.size();
  }
  return 0;
}

}  // namespace

void register_tokenize(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (or of each input of a test-case file)");
  cmd->add_option("--model,-m", o->model, "GGUF file (embedded vocabulary) or llama2.c checkpoint (with --tokenizer)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer,
                  "llama2.c tokenizer.bin; its size comes from --model's header (default: tokenizer.bin or "
                  "tok<vocab>.bin beside the checkpoint)")
      ->check(CLI::ExistingFile);
  auto* vocab = cmd->add_option("--vocab", o->vocab, "vocab.txt of a byte-level BPE (one token per line)")
                    ->check(CLI::ExistingFile);
  auto* merges = cmd->add_option("--merges", o->merges, "merges.txt going with --vocab")->check(CLI::ExistingFile);
  vocab->needs(merges);
  merges->needs(vocab);
  cmd->add_option("--pre", o->pre, "pre-tokenizer for --vocab (a tokenizer.ggml.pre name)")->capture_default_str();
  auto* text = cmd->add_option("--text", o->text, "Text to tokenize (BOS added when the vocabulary asks for it, "
                                                    "special tokens written in the text recognised)");
  auto* cases = cmd->add_option("--cases", o->cases,
                                "File of inputs separated by lines '__ggml_vocab_test__'; prints one line of ids per "
                                "input, without BOS or special-token parsing, like llama.cpp's *.out files")
                    ->check(CLI::ExistingFile);
  text->excludes(cases);
  cmd->add_flag("--no-bos", o->no_bos, "Do not add BOS with --text");
  cmd->callback([o, text, cases, &exit_code] {
    if (text->count() == 0 && cases->count() == 0) throw CLI::RequiredError("--text or --cases");
    exit_code = run_tokenize(*o);
  });
}

}  // namespace chorus::cli
