// llama2.c checkpoint reader: real files and each malformed-header error.
#include <filesystem>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "models/model_file.h"
#include "tests/test_paths.h"

namespace {

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string write_temp(const std::string& name, const std::vector<char>& bytes) {
  std::string path = chorus::test::temp_dir("llama2c") + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string stories_bin() { return chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin"; }

void expect_error(const std::string& path, const std::string& fragment) {
  try {
    chorus::models::open_model_file(path);
    FAIL() << "no error for " << fragment;
  } catch (const chorus::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "message must name the file: " << e.what();
  }
}

TEST(Llama2cFile, ReadsSharedClassifierCheckpoint) {
  auto f = chorus::models::open_model_file(stories_bin());
  EXPECT_EQ(f.format, "llama2c");
  EXPECT_EQ(f.config.dim, 64);
  EXPECT_EQ(f.config.n_layers, 5);
  EXPECT_EQ(f.config.n_kv_heads, 4);
  EXPECT_EQ(f.config.vocab_size, 512);
  EXPECT_TRUE(f.tied_output);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f.tensor("blk.4.ffn_down.weight").dims, (std::vector<int64_t>{172, 64}));
}

TEST(Llama2cFile, NegativeVocabMeansUnsharedClassifier) {
  auto bytes = read_all(stories_bin());
  int32_t vocab = -512;
  std::memcpy(bytes.data() + 20, &vocab, 4);
  const size_t classifier = 512 * 64 * 4;
  bytes.resize(bytes.size() + classifier, 0);
  auto f = chorus::models::open_model_file(write_temp("unshared.bin", bytes));
  EXPECT_FALSE(f.tied_output);
  EXPECT_EQ(f.config.vocab_size, 512);
  EXPECT_EQ(f.tensor("output.weight").file_offset + classifier, bytes.size());
}

TEST(Llama2cFile, TruncatedFilesAreErrorsAtEveryLength) {
  auto bytes = read_all(stories_bin());
  // Every cut inside the header, and a spread of cuts through the weights.
  for (size_t cut = 0; cut < bytes.size(); cut += cut < 64 ? 1 : 9973) {
    std::vector<char> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(chorus::models::open_model_file(write_temp("cut.bin", part)), chorus::Error) << "cut at " << cut;
  }
  expect_error(write_temp("short.bin", std::vector<char>(bytes.begin(), bytes.begin() + 100000)), "extends past the end");
  expect_error(write_temp("tiny.bin", std::vector<char>(bytes.begin(), bytes.begin() + 10)), "truncated");
}

TEST(Llama2cFile, AbsurdHeaderFieldsAreNamed) {
  auto bytes = read_all(stories_bin());
  const char* fields[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) {
    auto b = bytes;
    int32_t absurd = i == 5 ? INT32_MIN : -7;
    std::memcpy(b.data() + 4 * i, &absurd, 4);
    expect_error(write_temp("absurd.bin", b), std::string("'") + fields[i] + "'");
  }
  auto b = bytes;
  int32_t heads = 7;  // does not divide dim 64
  std::memcpy(b.data() + 12, &heads, 4);
  expect_error(write_temp("heads.bin", b), "does not divide dim");
}

TEST(ModelFile, MissingFileIsNotFoundAndADirectoryIsRefused) {
  try {
    chorus::models::open_model_file("/nonexistent/model.gguf");
    FAIL();
  } catch (const chorus::Error& e) {
    EXPECT_EQ(e.code(), chorus::ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf: model: does not exist"), std::string::npos) << e.what();
  }
  try {
    chorus::models::open_model_file("/tmp");
    FAIL();
  } catch (const chorus::Error& e) {
    EXPECT_EQ(e.code(), chorus::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
