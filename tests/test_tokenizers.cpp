// Tokenizers against independent references: llama.cpp's tokenizer test
// vectors (made with the Hugging Face tokenizers), a Python transliteration of
// llama2.c's run.c (tests/tokenizer_reference/run_c_encode.py), and the
// SentencePiece .vocab listing of tok512.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/gguf_writer.h"
#include "models/pretokenizer.h"
#include "models/tokenizer.h"
#include "tests/test_paths.h"

using chorus::Error;
using chorus::models::GgufFile;
using chorus::models::GgufWriter;
using chorus::models::Tokenizer;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct TestCase {
  std::string input;
  std::vector<int32_t> ids;
};

// llama.cpp's *.inp (inputs separated by "\n__ggml_vocab_test__\n") and *.out (one line of ids per input).
std::vector<TestCase> read_cases(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = read_file(inp_path);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<TestCase> cases;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t end = std::min(inp.find(separator, pos), inp.size());
    cases.push_back({inp.substr(pos, end - pos), {}});
    pos = end + separator.size();
  }
  std::istringstream out(read_file(out_path));
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    if (i >= cases.size()) break;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) cases[i].ids.push_back(id);
  }
  EXPECT_EQ(i, cases.size()) << out_path << " has a different number of cases than " << inp_path;
  return cases;
}

std::string llama_cpp_dir() { return chorus::test::fixture_dir() + "/tokenizers/llama.cpp"; }
std::string llama3_dir() { return chorus::test::fixture_dir() + "/tokenizers/llama3-bpe"; }
// Loaded once: 280,147 merges take a moment to index.
const Tokenizer* llama3() {
  static const auto tok = chorus::models::load_vocab_merges_tokenizer(llama3_dir() + "/vocab.txt",
                                                                      llama3_dir() + "/merges.txt", "llama-bpe");
  return tok.get();
}
std::string tok512_path() { return chorus::test::fixture_dir() + "/models/stories260K/tok512.bin"; }

// Every case encodes (no BOS, special tokens not parsed, as llama.cpp's
// test-tokenizer-0 does) to the expected ids and, when `round_trips`, decodes back to its input.
void check_cases(const Tokenizer& tok, const std::vector<TestCase>& cases, bool round_trips) {
  ASSERT_EQ(cases.size(), 46u);
  for (const TestCase& c : cases) {
    const std::vector<int32_t> ids = tok.encode(c.input, /*add_bos=*/false, /*parse_special=*/false);
    EXPECT_EQ(ids, c.ids) << "input: '" << c.input << "'";
    if (round_trips) EXPECT_EQ(tok.decode(ids), c.input) << "input: '" << c.input << "'";
  }
}

class LlamaCppVocab : public testing::TestWithParam<const char*> {};

TEST_P(LlamaCppVocab, MatchesReferenceIdsAndRoundTrips) {
  const std::string base = llama_cpp_dir() + "/ggml-vocab-" + GetParam() + ".gguf";
  const GgufFile file(base);
  const auto tok = chorus::models::load_gguf_tokenizer(file);
  // All four vocabularies are lossless: byte fallback (SentencePiece) or byte-level BPE.
  check_cases(*tok, read_cases(base + ".inp", base + ".out"), /*round_trips=*/true);
}

// bert-bge (WordPiece) is not supported: chorus runs Llama-family models only.
INSTANTIATE_TEST_SUITE_P(Vocabularies, LlamaCppVocab, testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-llm"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(LlamaCppVocab, WordPieceIsReportedUnsupported) {
  const GgufFile file(llama_cpp_dir() + "/ggml-vocab-bert-bge.gguf");
  try {
    chorus::models::load_gguf_tokenizer(file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), chorus::ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();
  }
}

// `chorus tokenize --cases` prints the .out file byte for byte.
TEST(TokenizeCommand, CasesFileReproducesTheOutFile) {
  const std::string program = chorus::test::binary_dir() + "/chorus";
  if (!std::filesystem::exists(program)) GTEST_SKIP() << program << " is not built";
  const std::string base = llama_cpp_dir() + "/ggml-vocab-gpt-2.gguf";
  const std::string command = fmt::format("'{}' tokenize --model '{}' --cases '{}.inp'", program, base, base);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  EXPECT_EQ(output, read_file(base + ".out"));
}

TEST(Llama3VocabMerges, MatchesReferenceIdsAndRoundTrips) {
  const Tokenizer* tok = llama3();
  EXPECT_EQ(tok->vocab_size(), 128000);
  // The files hold the 128000 regular tokens only, not <|begin_of_text|> and the other specials.
  EXPECT_EQ(tok->bos_id(), -1);
  check_cases(*tok, read_cases(llama3_dir() + "/ggml-vocab-llama-bpe.gguf.inp", llama3_dir() + "/ggml-vocab-llama-bpe.gguf.out"),
              /*round_trips=*/true);
}

TEST(Llama3VocabMerges, UnknownPreTokenizerIsAnError) {
  EXPECT_THROW(chorus::models::load_vocab_merges_tokenizer(llama3_dir() + "/vocab.txt", llama3_dir() + "/merges.txt",
                                                          "no-such-pre"),
               Error);
}

TEST(Llama3VocabMerges, EncodesALongTextQuickly) {
  // Not a timing test (nothing is timed here), but a long input must finish:
  // the merge loop is O(n log n) per piece.
  const Tokenizer* tok = llama3();
  std::string text;
  for (int i = 0; i < 200; ++i) text += "The quick brown fox jumps over the lazy dog; 1234567 ünïcödé 🦙\n";
  const auto ids = tok->encode(text, false);
  EXPECT_GT(ids.size(), 2000u);
  EXPECT_EQ(tok->decode(ids), text);
}

// Expected ids from tests/tokenizer_reference/run_c_encode.py (run.c's encode, BOS on).
TEST(Llama2cTokenizer, MatchesRunCEncode) {
  const auto tok = chorus::models::load_llama2c_tokenizer(tok512_path(), 512);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->adds_space_prefix());
  const std::vector<TestCase> cases = {
      {"Once upon a time, there was a little girl.", {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 426}},
      {"Lily's cat said: \"Hi!\"\nNew line.",
       {1, 317, 439, 419, 280, 294, 336, 467, 313, 440, 417, 443, 436, 13, 458, 411, 424, 278, 271, 411, 426}},
      {"h\xC3\xA9llo \xF0\x9F\xA6\x99 w\xC3\xB6rld", {1, 270, 485, 306, 414, 410, 243, 162, 169, 156, 263, 198, 185, 420, 341}},
      {"", {1}},
      {" ", {1, 410, 410}},
      {"  two  spaces", {1, 410, 410, 259, 424, 414, 410, 262, 427, 412, 331, 419}},
      {"12345", {1, 410, 475, 479, 472, 484, 480}},
  };
  for (const TestCase& c : cases) {
    const std::vector<int32_t> ids = tok->encode(c.input, /*add_bos=*/true);
    EXPECT_EQ(ids, c.ids) << "input: '" << c.input << "'";
    EXPECT_EQ(tok->decode(ids), c.input) << "input: '" << c.input << "'";
  }
  EXPECT_EQ(tok->encode("Hi", /*add_bos=*/false).front(), tok->encode("Hi", true)[1]);
}

// The Llama 2 vocabulary in llama2.c's layout encodes llama.cpp's Llama 2
// (llama-spm) test inputs to the same ids: run.c's algorithm is SentencePiece BPE.
TEST(Llama2cTokenizer, Llama2TokenizerBinMatchesReferenceIds) {
  const auto tok =
      chorus::models::load_llama2c_tokenizer(chorus::test::fixture_dir() + "/tokenizers/llama2/tokenizer.bin", 32000);
  check_cases(*tok, read_cases(llama_cpp_dir() + "/ggml-vocab-llama-spm.gguf.inp", llama_cpp_dir() + "/ggml-vocab-llama-spm.gguf.out"),
              /*round_trips=*/true);
}

TEST(Llama2cTokenizer, PiecesAgreeWithSentencePieceVocabListing) {
  const auto tok = chorus::models::load_llama2c_tokenizer(tok512_path(), 512);
  std::istringstream listing(read_file(chorus::test::fixture_dir() + "/models/stories260K/tok512.vocab"));
  int32_t id = 0;
  for (std::string line; std::getline(listing, line); ++id) {
    std::string piece = line.substr(0, line.find('\t'));
    // The .vocab file writes spaces as "▁"; tokenizer.bin stores them as spaces.
    for (size_t at; (at = piece.find("\xE2\x96\x81")) != std::string::npos;) piece.replace(at, 3, " ");
    // llama2.c's export writes BOS and EOS as "\n<s>\n" and "\n</s>\n".
    if (id == 1 || id == 2) piece = "\n" + piece + "\n";
    EXPECT_EQ(tok->find_token(piece), id) << "line " << id + 1 << ": '" << piece << "'";
  }
  EXPECT_EQ(id, 512);
  EXPECT_EQ(tok->token_to_piece(13), "\n");  // <0x0A>
  EXPECT_EQ(tok->token_to_piece(3), std::string(1, '\0'));
}

TEST(Llama2cTokenizer, AgreesWithTheSameVocabularyInGguf) {
  // stories260K.gguf embeds tok512 as a SentencePiece `llama` vocabulary; its
  // encoder (llama.cpp's algorithm on text) must agree with run.c's (on ids).
  const auto llama2c = chorus::models::load_llama2c_tokenizer(tok512_path(), 512);
  const GgufFile file(chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf");
  const auto gguf = chorus::models::load_gguf_tokenizer(file);
  for (const char* text : {"One day, Tom and Sue went to the park to play.", "  leading spaces", "tabs\tand\nnewlines\n",
                           "caf\xC3\xA9 na\xC3\xAFve \xE4\xBD\xA0\xE5\xA5\xBD", "<s> is text here"}) {
    EXPECT_EQ(llama2c->encode(text, true, false), gguf->encode(text, true, false)) << text;
  }
}

TEST(Llama2cTokenizer, TruncatedFileIsAnError) {
  const std::string bytes = read_file(tok512_path());
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t cut : {size_t{0}, size_t{3}, size_t{4}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_THROW(chorus::models::load_llama2c_tokenizer(std::span<const uint8_t>(data, cut), 512, "tok512.bin"), Error)
        << "cut at " << cut;
  }
  EXPECT_THROW(chorus::models::load_llama2c_tokenizer(tok512_path(), 0), Error);
  EXPECT_THROW(chorus::models::load_llama2c_tokenizer(tok512_path(), 100000), Error);
  EXPECT_THROW(chorus::models::load_llama2c_tokenizer("/nonexistent/tok.bin", 512), Error);
}

TEST(SmolLM2, SpecialTokensAreSingleIds) {
  const std::string path = chorus::test::smollm2_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent (scripts/setup.sh fetches it)";
  const GgufFile file(path);
  const auto tok = chorus::models::load_gguf_tokenizer(file);
  EXPECT_EQ(tok->vocab_size(), 49152);
  EXPECT_FALSE(tok->adds_bos());  // tokenizer.ggml.add_bos_token = false
  const std::string text = "<|im_start|>user\nHello<|im_end|>";
  const std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/true);
  const std::vector<int32_t> expected = {1, *tok->find_token("user"), *tok->find_token("\xC4\x8A"),  // "Ċ" = "\n"
                                         *tok->find_token("Hello"), 2};
  EXPECT_EQ(ids, expected);
  // SmolLM2 names <|im_start|> its BOS and <|im_end|> its EOS; decode drops
  // EOS always and BOS only when the vocabulary adds it, which this one does not.
  EXPECT_EQ(tok->decode(ids), "<|im_start|>user\nHello");
  EXPECT_EQ(tok->token_to_piece(1), "<|im_start|>");
  EXPECT_TRUE(tok->is_end_of_generation(2));   // <|im_end|>
  EXPECT_TRUE(tok->is_end_of_generation(0));   // <|endoftext|>
  EXPECT_FALSE(tok->is_end_of_generation(1));  // <|im_start|>
  // Not parsed, the markers are plain text and become several ordinary tokens.
  const std::vector<int32_t> plain = tok->encode(text, false, /*parse_special=*/false);
  EXPECT_GT(plain.size(), ids.size());
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(tok->decode(plain), text);
}

// The pieces a named pre-tokenizer cuts `text` into.
std::vector<std::string> pieces(const char* pre, std::string_view text) {
  const chorus::models::PretokenizerSpec* spec = chorus::models::find_pretokenizer_spec(pre);
  EXPECT_NE(spec, nullptr) << pre;
  if (!spec) return {};
  const chorus::models::RegexPretokenizer pretokenizer(spec->regexes);
  std::vector<std::string> out;
  for (std::string_view piece : pretokenizer.split(text)) out.emplace_back(piece);
  return out;
}

using Pieces = std::vector<std::string>;

TEST(Pretokenizer, EveryKnownNameCompiles) {
  for (const std::string& name : chorus::models::known_pretokenizer_names()) {
    const auto* spec = chorus::models::find_pretokenizer_spec(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_NO_THROW(chorus::models::RegexPretokenizer{spec->regexes}) << name;
  }
  EXPECT_EQ(chorus::models::find_pretokenizer_spec("no-such-pre"), nullptr);
}

// Expected pieces worked out by hand from each tokenizer.json's Split expressions.
TEST(Pretokenizer, SplitsAsTheNamedModelDoes) {
  // \p{L} is Unicode-aware: Cyrillic words stay whole, with their leading space.
  EXPECT_EQ(pieces("gpt-2", "Hello world  123 \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE!!"),
            (Pieces{"Hello", " world", " ", " 123", " \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE", "!!"}));
  EXPECT_EQ(pieces("mpt", "it's"), (Pieces{"it", "'s"}));
  EXPECT_EQ(pieces("llama-bpe", "12345 I'M \xC3\xBCn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9"),
            (Pieces{"123", "45", " I", "'M", " \xC3\xBCn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9"}));
  EXPECT_EQ(pieces("llama-bpe", "a\n\n  b"), (Pieces{"a", "\n\n", " ", " b"}));
  EXPECT_EQ(pieces("qwen2", "v12345"), (Pieces{"v", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(pieces("starcoder", "x 2024"), (Pieces{"x", " ", "2", "0", "2", "4"}));
  EXPECT_EQ(pieces("refact", "x 2024"), pieces("smollm", "x 2024"));
  EXPECT_EQ(pieces("falcon", "a+b 1234"), (Pieces{"a", "+", "b", " ", "123", "4"}));
  EXPECT_EQ(pieces("default", "a,b 12345"), (Pieces{"a", ",", "b", " ", "123", "45"}));
  // CJK ideographs are letters for \s?\p{L}+, then cut from their space by the CJK class.
  EXPECT_EQ(pieces("deepseek-coder", "Hi, \xE4\xBD\xA0\xE5\xA5\xBD" "123\n"),
            (Pieces{"Hi", ",", " ", "\xE4\xBD\xA0\xE5\xA5\xBD", "1", "2", "3", "\n"}));
  EXPECT_EQ(pieces("deepseek-llm", "Hi!  \n"), (Pieces{"Hi", "!", "  ", "\n"}));
  // U+00A0 (no-break space) is white space under Unicode rules.
  EXPECT_EQ(pieces("gpt-2", "a\xC2\xA0\xC2\xA0"), (Pieces{"a", "\xC2\xA0\xC2\xA0"}));
  EXPECT_TRUE(pieces("gpt-2", "").empty());
}

TEST(Pretokenizer, InvalidUtf8IsAnError) {
  const chorus::models::RegexPretokenizer pretokenizer(chorus::models::find_pretokenizer_spec("gpt-2")->regexes);
  EXPECT_THROW(pretokenizer.split("a\xC3"), Error);
  EXPECT_THROW(pretokenizer.split("\xED\xA0\x80"), Error);  // a UTF-16 surrogate
}

// A tiny GGUF `llama` vocabulary written for one test.
struct TinyVocab {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "ab"};
  std::vector<float> scores = {0, 0, 0, -1, -2, -2, -1.5f, -0.5f};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1};
};

std::string write_gguf(const std::string& name, const std::function<void(GgufWriter&)>& fill) {
  GgufWriter w;
  fill(w);
  const std::string path = chorus::test::temp_dir("tokenizers") + "/" + name;
  w.write(path);
  return path;
}

// Loading `path` throws chorus::Error whose message names the file and `key`.
void expect_error_naming(const std::string& path, const std::string& key) {
  const GgufFile file(path);
  try {
    chorus::models::load_gguf_tokenizer(file);
    FAIL() << "expected an error naming " << key;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(key), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
  }
}

TEST(GgufTokenizer, TinyVocabularyMergesByScore) {
  const TinyVocab v;
  const std::string path = write_gguf("tiny.gguf", [&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_string_array("tokenizer.ggml.tokens", v.tokens);
    w.add_array("tokenizer.ggml.scores", v.scores);
    w.add_array("tokenizer.ggml.token_type", v.types);
  });
  const GgufFile file(path);
  const auto tok = chorus::models::load_gguf_tokenizer(file);
  EXPECT_EQ(tok->encode("ab", true), (std::vector<int32_t>{1, 7}));
  // "▁a" is no token, so "ab" merges first and then "▁" + "ab".
  EXPECT_EQ(tok->encode("ab ab", false), (std::vector<int32_t>{7, 7}));
  // No byte tokens: a character outside the vocabulary becomes <unk>.
  EXPECT_EQ(tok->encode("c", false), (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 7, 4, 2}), "aba");
  EXPECT_THROW(tok->decode(std::vector<int32_t>{8}), Error);
  EXPECT_THROW(tok->token_to_piece(-1), Error);
}

TEST(GgufTokenizer, TokensScoresMismatchNamesTheKey) {
  TinyVocab v;
  v.scores.pop_back();
  expect_error_naming(write_gguf("mismatch.gguf",
                                 [&](GgufWriter& w) {
                                   w.add_string("tokenizer.ggml.model", "llama");
                                   w.add_string_array("tokenizer.ggml.tokens", v.tokens);
                                   w.add_array("tokenizer.ggml.scores", v.scores);
                                 }),
                      "tokenizer.ggml.scores");
}

TEST(GgufTokenizer, MissingKeysAreNamed) {
  const TinyVocab v;
  expect_error_naming(write_gguf("no_model.gguf", [&](GgufWriter& w) { w.add_string_array("tokenizer.ggml.tokens", v.tokens); }),
                      "tokenizer.ggml.model");
  expect_error_naming(write_gguf("no_tokens.gguf", [&](GgufWriter& w) { w.add_string("tokenizer.ggml.model", "llama"); }),
                      "tokenizer.ggml.tokens");
  expect_error_naming(write_gguf("no_scores.gguf",
                                 [&](GgufWriter& w) {
                                   w.add_string("tokenizer.ggml.model", "llama");
                                   w.add_string_array("tokenizer.ggml.tokens", v.tokens);
                                 }),
                      "tokenizer.ggml.scores");
  expect_error_naming(write_gguf("no_merges.gguf",
                                 [&](GgufWriter& w) {
                                   w.add_string("tokenizer.ggml.model", "gpt2");
                                   w.add_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
                                 }),
                      "tokenizer.ggml.merges");
}

TEST(GgufTokenizer, BadValuesAreNamed) {
  const TinyVocab v;
  const auto llama_with = [&](const std::function<void(GgufWriter&)>& extra) {
    return [&v, extra](GgufWriter& w) {
      w.add_string("tokenizer.ggml.model", "llama");
      w.add_string_array("tokenizer.ggml.tokens", v.tokens);
      w.add_array("tokenizer.ggml.scores", v.scores);
      extra(w);
    };
  };
  expect_error_naming(write_gguf("bad_bos.gguf", llama_with([](GgufWriter& w) { w.add_uint32("tokenizer.ggml.bos_token_id", 99); })),
                      "tokenizer.ggml.bos_token_id");
  expect_error_naming(
      write_gguf("bad_types.gguf", llama_with([](GgufWriter& w) { w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1}); })),
      "tokenizer.ggml.token_type");
  expect_error_naming(write_gguf("bad_model.gguf",
                                 [&](GgufWriter& w) {
                                   w.add_string("tokenizer.ggml.model", "t5");
                                   w.add_string_array("tokenizer.ggml.tokens", v.tokens);
                                 }),
                      "tokenizer.ggml.model");
  const auto gpt2_with = [](std::vector<std::string> tokens, std::vector<std::string> merges, std::string pre) {
    return [=](GgufWriter& w) {
      w.add_string("tokenizer.ggml.model", "gpt2");
      w.add_string("tokenizer.ggml.pre", pre);
      w.add_string_array("tokenizer.ggml.tokens", tokens);
      w.add_string_array("tokenizer.ggml.merges", merges);
    };
  };
  expect_error_naming(write_gguf("bad_merge.gguf", gpt2_with({"a", "b", "ab"}, {"ab"}, "gpt-2")), "tokenizer.ggml.merges");
  expect_error_naming(write_gguf("merge_oov.gguf", gpt2_with({"a", "b"}, {"a b"}, "gpt-2")), "tokenizer.ggml.merges");
  expect_error_naming(write_gguf("bad_pre.gguf", gpt2_with({"a", "b", "ab"}, {"a b"}, "no-such-pre")), "tokenizer.ggml.pre");
  expect_error_naming(write_gguf("dup.gguf", gpt2_with({"a", "b", "a"}, {}, "gpt-2")), "tokenizer.ggml.tokens");
}

TEST(GgufTokenizer, TinyByteLevelVocabulary) {
  const std::string path = write_gguf("tiny_bpe.gguf", [](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "gpt-2");
    w.add_string_array("tokenizer.ggml.tokens", {"a", "b", "\xC4\xA0", "ab", "\xC4\xA0" "ab", "<|endoftext|>"});
    w.add_string_array("tokenizer.ggml.merges", {"a b", "\xC4\xA0 ab"});
    w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 1, 1, 1, 1, 3});
    w.add_uint32("tokenizer.ggml.eos_token_id", 5);
  });
  const GgufFile file(path);
  const auto tok = chorus::models::load_gguf_tokenizer(file);
  EXPECT_EQ(tok->encode("ab ab<|endoftext|>", true), (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{3, 4}), "ab ab");
  EXPECT_TRUE(tok->is_end_of_generation(5));
  // Invalid UTF-8 does not crash: the bad byte becomes U+FFFD, which this vocabulary cannot spell.
  EXPECT_NO_THROW(tok->encode("a\xFF" "b", false));
}

}  // namespace
