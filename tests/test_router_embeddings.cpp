// Pooled token embeddings for the router: the SentencePiece tokenizer (a
// hand-made vocabulary, and use-lite's against ids from the numpy prototype),
// the use-lite reader and pooled vector (against numpy), a router file with
// embeddings round-tripping (format version 3), and version-2 files loading.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "router/pooled_embeddings.h"
#include "router/router_file.h"
#include "router/router_model.h"
#include "router/sentencepiece.h"
#include "tests/test_paths.h"

using namespace chorus::router;

namespace {

// ids: 0 unknown, 1 reserved, 2 "▁a", 3 "▁ab", 4 "b", 5 "c", 6 "▁", 7 "bc"
PieceTokenizer tiny_tokenizer() {
  return PieceTokenizer({"<unk>", "<s>", "\u2581a", "\u2581ab", "b", "c", "\u2581", "bc"},
                        {0, 0, -1.0f, -5.0f, -1.0f, -1.0f, -2.0f, -1.5f}, 2);
}

using chorus::test::use_lite_dir;

// A two-label linear router over 64 hashed buckets + the tiny embeddings (width 2).
RouterModel router_with_embeddings() {
  RouterModel m;
  m.features = Featurizer(FeatureConfig{.dim = 64});
  m.embeddings.tokenizer = tiny_tokenizer();
  m.embeddings.table = {8, 2, {0, 0, 0, 0, 1, 0, 0, 1, 2, 2, -1, 1, 0.5f, 0.5f, 3, -3}};
  m.embeddings.shift = {0.5f, -0.5f};
  m.embeddings.scale = {2.0f, 1.0f};
  m.kind = ModelKind::kLinear;
  m.labels = {"x", "y"};
  m.categories = {"X", "Y"};
  m.label_category = {0, 1};
  LinearClassifier& c = m.linears.emplace_back();
  c.init(m.in_dim(), 2);
  c.w[64 * 2 + 0] = 1.0f;  // embedding dim 0 → label x
  c.w[65 * 2 + 1] = 1.0f;  // embedding dim 1 → label y
  return m;
}

uint64_t get_u64(const std::vector<uint8_t>& b, size_t off) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[off + i]) << (8 * i);
  return v;
}

}  // namespace

TEST(RouterEmbeddings, TokenizerFindsBestSegmentation) {
  const PieceTokenizer t = tiny_tokenizer();
  // "▁abc": ▁a + bc (-2.5) beats ▁ab + c (-6) and ▁a + b + c (-3).
  EXPECT_EQ(t.encode("abc"), (std::vector<int32_t>{2, 7}));
  EXPECT_EQ(t.encode("ABC"), (std::vector<int32_t>{2, 7}));  // lower-cased
  EXPECT_EQ(t.encode("a b"), (std::vector<int32_t>{2, 6, 4}));
  // Unknown code points become id 0, consecutive ones merged.
  EXPECT_EQ(t.encode("a xyz b"), (std::vector<int32_t>{2, 6, 0, 6, 4}));
  EXPECT_TRUE(t.encode("").empty());
  // Reserved pieces are never matched, invalid UTF-8 never crashes.
  EXPECT_EQ(t.encode("<s>").size(), 2u);
  EXPECT_NO_THROW(t.encode(std::string("a\xff\xfe b")));
  // A repeated piece takes its last id.
  EXPECT_EQ(PieceTokenizer({"<unk>", "\u2581x", "\u2581x"}, {0, -1, -1}, 1).encode("x"), (std::vector<int32_t>{2}));
  // A copy stands alone once the original is gone (the trainer copies the
  // options' embeddings into the model).
  std::optional<PieceTokenizer> original(tiny_tokenizer());
  const PieceTokenizer copy = *original;
  original.reset();
  EXPECT_EQ(copy.encode("abc"), (std::vector<int32_t>{2, 7}));
}

TEST(RouterEmbeddings, TokenizerRejectsBadVocabulary) {
  EXPECT_THROW(PieceTokenizer({"a", "b"}, {0.0f}, 0), chorus::Error);
  EXPECT_THROW(PieceTokenizer({"a", ""}, {0.0f, 0.0f}, 1), chorus::Error);
  EXPECT_THROW(PieceTokenizer({"a"}, {NAN}, 0), chorus::Error);
  EXPECT_THROW(PieceTokenizer({"a"}, {0.0f}, 2), chorus::Error);
}

TEST(RouterEmbeddings, UseLiteMatchesNumpyPrototype) {
  if (!std::filesystem::exists(use_lite_dir() + "/model.json"))
    GTEST_SKIP() << "use-lite (28 MB, not in the repository) is not in " << use_lite_dir()
                 << ": set CHORUS_USE_LITE_DIR to its folder to run this test";
  const PooledEmbeddings e = load_use_lite(use_lite_dir(), Pooling::kMean);
  EXPECT_EQ(e.table.rows, 8002u);
  EXPECT_EQ(e.table.width, 256u);
  EXPECT_EQ(e.tokenizer.pieces().size(), 8000u);
  // Token ids and mean-pooled vectors from the numpy prototype (tools-free: values pasted).
  struct Case {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<float> head, tail;  // dims 0..3 and 252..255
    double norm;
  };
  const std::vector<Case> cases = {
      {"what is my balance", {87, 18, 69, 2620}, {-0.04120349f, -0.02437376f, -0.08441354f, -0.2199657f},
       {-0.2211442f, -0.10526f, -0.04549021f, -0.08313935f}, 1.606843},
      {"Do I have plans on 12/03/2019?", {64, 103, 32, 1969, 25, 575, 68, 5216, 68, 817, 2110, 54},
       {-0.04185187f, -0.03135852f, -0.02921419f, -0.05164483f}, {-0.1001176f, 0.002057098f, -0.1514528f, -0.1089528f},
       1.090553},
      {"what's the definition of nuclear engineering", {87, 13, 7, 9, 4115, 14, 4924, 5180},
       {-0.1034472f, -0.1018443f, -0.2370581f, -0.1227326f}, {-0.2530549f, -0.1304659f, -0.07684264f, -0.1537856f},
       2.16274},
      {"book a flight to \u6771\u4eac", {717, 11, 3198, 10, 30, 0}, {-0.05241706f, -0.07200488f, -0.06618146f, -0.1639064f},
       {-0.1341167f, -0.05427912f, -0.06194407f, -0.1462967f}, 1.449142},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(e.tokenizer.encode(c.text), c.ids) << c.text;
    const auto v = e.pooled(c.text);
    ASSERT_EQ(v.size(), 256u);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(std::sqrt(norm), c.norm, 1e-5) << c.text;
    for (int d = 0; d < 4; ++d) {
      EXPECT_NEAR(v[d], c.head[d], 1e-5) << c.text << " dim " << d;
      EXPECT_NEAR(v[252 + d], c.tail[d], 1e-5) << c.text << " dim " << 252 + d;
    }
  }
  const PooledEmbeddings mm = load_use_lite(use_lite_dir(), Pooling::kMeanMax);
  const auto v = mm.pooled("what is my balance");
  ASSERT_EQ(v.size(), 512u);
  for (int d = 0; d < 256; ++d) EXPECT_GE(v[256 + d], v[d]);  // max >= mean
}

TEST(RouterEmbeddings, ReaderErrorsNameFileAndField) {
  const std::string dir = chorus::test::temp_dir("use_lite_bad");
  auto write = [&](const std::string& name, const std::string& text) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  };
  auto expect_error = [&](const std::string& needle) {
    try {
      load_use_lite(dir, Pooling::kMean);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const chorus::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  write("vocab.json", R"([["<unk>", 0], ["a", -1], ["b"]])");
  expect_error("vocab.json: entry 2");
  write("vocab.json", R"([["<unk>", 0], ["<s>", 0], ["<\/s>", 0], ["x1", 0], ["x2", 0], ["x3", 0], ["a", -1], ["b", null]])");
  write("model.json", R"({"weightsManifest": [{"paths": ["s1"], "weights": [{"name": "other", "shape": [2], "dtype": "float32"}]}]})");
  expect_error("no weight named 'module/Embeddings_en'");
  write("model.json", R"({"weightsManifest": [{"paths": ["s1"], "weights": [{"name": "module/Embeddings_en", "shape": [8, 2], "dtype": "float32"}]}]})");
  write("s1", std::string(40, '\0'));  // 64 bytes needed
  expect_error("weights[0]: the shards hold 40 bytes");
  // A 16 GiB shape over 40 bytes of shards: refused before anything is allocated.
  write("model.json", R"({"weightsManifest": [{"paths": ["s1"], "weights": [{"name": "module/Embeddings_en", "shape": [1073741824, 4], "dtype": "float32"}]}]})");
  expect_error("the tensor needs bytes 0..17179869184");
  write("model.json", R"({"weightsManifest": [{"paths": ["../s1"], "weights": [{"name": "module/Embeddings_en", "shape": [8, 2], "dtype": "float32"}]}]})");
  expect_error("leaves the model directory");
  write("model.json", R"({"weightsManifest": [{"paths": ["s1", "s2"], "weights": [{"name": "pad", "shape": [2], "dtype": "int32"}, {"name": "module/Embeddings_en", "shape": [8, 2], "dtype": "float32"}]}]})");
  write("s2", std::string(32, '\0'));  // 72 bytes: 8 of padding, then the table across both shards
  const PooledEmbeddings e = load_use_lite(dir, Pooling::kMean);
  EXPECT_EQ(e.table.rows, 8u);
  EXPECT_EQ(e.tokenizer.scores()[7], 0.0f);  // null score reads as 0
}

TEST(RouterEmbeddings, FileRoundTripAndVersion2) {
  const RouterModel m = router_with_embeddings();
  EXPECT_EQ(m.in_dim(), 66u);
  // "abc" → ▁a + bc: the mean of rows 2 and 7 is ((1 + 3) / 2, (0 - 3) / 2) = (2, -1.5).
  const SparseVec x = m.input("abc");
  ASSERT_EQ(x.index.back(), 65u);
  EXPECT_FLOAT_EQ(x.value[x.size() - 2], (2.0f - 0.5f) * 2.0f);
  EXPECT_FLOAT_EQ(x.value[x.size() - 1], (-1.5f + 0.5f) * 1.0f);
  const auto bytes = serialize_router(m);
  EXPECT_EQ(bytes[8], 3);
  const RouterModel r = parse_router(bytes.data(), bytes.size(), "e.router");
  EXPECT_TRUE(r.embeddings.enabled());
  EXPECT_EQ(r.embeddings.tokenizer.pieces(), m.embeddings.tokenizer.pieces());
  for (const char* t : {"abc", "a b", "c c c", "zzz", ""}) {
    EXPECT_EQ(r.predict(t).category, m.predict(t).category) << t;
    EXPECT_EQ(r.predict(t).score, m.predict(t).score) << t;
  }
  EXPECT_EQ(serialize_router(r), bytes);

  // A version-2 file (no embeddings) still loads; versions 1 and 4 are refused.
  RouterModel plain = router_with_embeddings();
  plain.embeddings = PooledEmbeddings{};
  plain.linears[0].init(plain.in_dim(), 2);
  auto v2 = serialize_router(plain);
  const uint64_t meta_len = get_u64(v2, 16);
  std::string meta(v2.begin() + kRouterHeaderSize, v2.begin() + kRouterHeaderSize + meta_len);
  const size_t at = meta.find("\"version\":3");
  ASSERT_NE(at, std::string::npos);
  meta[at + 10] = '2';
  std::copy(meta.begin(), meta.end(), v2.begin() + kRouterHeaderSize);
  v2[8] = 2;
  const uint64_t sum = router_checksum(v2.data() + kRouterHeaderSize, v2.size() - kRouterHeaderSize);
  for (int i = 0; i < 8; ++i) v2[32 + i] = static_cast<uint8_t>(sum >> (8 * i));
  const RouterModel old = parse_router(v2.data(), v2.size(), "v2.router");
  EXPECT_FALSE(old.embeddings.enabled());
  EXPECT_EQ(old.predict("abc").category, plain.predict("abc").category);
  for (uint8_t v : {1, 4}) {
    auto bad = v2;
    bad[8] = v;
    try {
      parse_router(bad.data(), bad.size(), "v.router");
      ADD_FAILURE() << "version " << int(v) << " accepted";
    } catch (const chorus::Error& e) {
      EXPECT_EQ(e.code(), chorus::ErrorCode::kUnsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find("versions 2..3"), std::string::npos) << e.what();
    }
  }
  // An embeddings block whose table is too short is a format error naming the tensor.
  RouterModel shortm = router_with_embeddings();
  auto good = serialize_router(shortm);
  const uint64_t ml = get_u64(good, 16);
  auto mj = nlohmann::json::parse(good.begin() + kRouterHeaderSize, good.begin() + kRouterHeaderSize + ml);
  mj["embeddings"]["rows"] = 9;
  const std::string ms = mj.dump();
  std::vector<uint8_t> out(good.begin(), good.begin() + kRouterHeaderSize);
  out.insert(out.end(), ms.begin(), ms.end());
  out.insert(out.end(), good.begin() + kRouterHeaderSize + ml, good.end());
  for (int i = 0; i < 8; ++i) out[16 + i] = static_cast<uint8_t>(ms.size() >> (8 * i));
  try {
    parse_router(out.data(), out.size(), "s.router", false);
    ADD_FAILURE() << "short table accepted";
  } catch (const chorus::Error& e) {
    EXPECT_NE(std::string(e.what()).find("emb.table"), std::string::npos) << e.what();
  }
}
