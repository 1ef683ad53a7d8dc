#include "models/gguf.h"

#include <gtest/gtest.h>

#include "chorus/error.h"
#include "tests/test_paths.h"

using chorus::models::GgufFile;

TEST(Gguf, ReadsStories260K) {
  GgufFile f(chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(f.tensors().size(), 48u);
  const auto& t = f.tensor("blk.0.ffn_gate.weight");
  EXPECT_EQ(t.dims, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(t.bytes, 64u * 172u * 4u);
}
