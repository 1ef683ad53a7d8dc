// The expert registry and the three-tier weight store: config errors, tier
// moves, budgets, pins, failures of one expert's file, and the store's
// invariants under concurrent random use. Nothing here is timed.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "chorus/error.h"
#include "kernels/dequantize.h"
#include "models/llama_model.h"
#include "models/synthetic_model.h"
#include "runtime/byte_size.h"
#include "runtime/contiguous_kv_cache.h"
#include "runtime/expert_layout.h"
#include "runtime/eviction_policy.h"
#include "runtime/expert_registry.h"
#include "runtime/loaded_model.h"
#include "runtime/page_pool.h"
#include "runtime/tier_moves.h"
#include "runtime/weight_store.h"
#include "tests/test_paths.h"

namespace {

using chorus::Error;
using chorus::ErrorCode;
using namespace chorus::runtime;

std::string stories_gguf() { return chorus::test::fixture_dir() + "/models/stories260K/stories260K.gguf"; }
std::string aidreams_bin() { return chorus::test::fixture_dir() + "/models/aidreams260K/aidreams260K.bin"; }
std::string aidreams_tok() { return chorus::test::fixture_dir() + "/models/aidreams260K/tok512.bin"; }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A small synthetic Llama (dim 64, the first `vocab` tokens of the stories vocabulary) in `dir`; returns its path.
std::string synthetic(const std::string& dir, const std::string& name, int32_t layers, uint64_t seed,
                      int32_t vocab = 512) {
  chorus::models::SyntheticPreset preset{name, {}, true};
  chorus::models::LlamaConfig& c = preset.config;
  c.dim = 64;
  c.hidden_dim = 128;
  c.n_layers = layers;
  c.n_heads = c.n_kv_heads = 4;
  c.head_dim = c.rope_dim = 16;
  c.vocab_size = vocab;
  c.context_length = 256;
  const std::string path = dir + "/" + name + ".gguf";
  chorus::models::write_synthetic_model(preset, chorus::kernels::GgmlType::F32,
                                        chorus::test::fixture_dir() + "/models/stories260K/tok512.bin", seed, path);
  return path;
}

ExpertSpec spec(const std::string& name, const std::string& model) {
  ExpertSpec s;
  s.name = name;
  s.model_path = model;
  return s;
}

// Expects an error of `code` whose message holds every substring.
template <typename F>
void expect_error(F&& f, ErrorCode code, const std::vector<std::string>& substrings) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const std::string& s : substrings)
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << "'" << s << "' not in: " << e.what();
  }
}

// ---------------------------------------------------------------- byte sizes

TEST(ByteSize, ParsesUnits) {
  EXPECT_EQ(parse_byte_size("512MiB", "x"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("1.5 GiB", "x"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("2GB", "x"), 2000000000ull);
  EXPECT_EQ(parse_byte_size("4096", "x"), 4096ull);
  EXPECT_EQ(format_byte_size(3ull << 29), "1.5 GiB");
  expect_error([] { parse_byte_size("12 parsecs", "store.host_bytes"); }, ErrorCode::kInvalidArgument,
               {"store.host_bytes", "12 parsecs", "unit"});
  expect_error([] { parse_byte_size("MiB", "x"); }, ErrorCode::kInvalidArgument, {"number"});
  expect_error([] { parse_byte_size("99999999TiB", "x"); }, ErrorCode::kInvalidArgument, {"too large"});
}

// ---------------------------------------------------------------- registry

class Registry : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = chorus::test::temp_dir("weight_store_registry");
    synthetic(dir_, "tiny", 1, 1);
  }
  // Parses `experts_json` (the value of "experts") with the given top-level extras.
  ExpertRegistry parse(const std::string& experts_json, const std::string& extra = "") {
    const std::string path = dir_ + "/experts.json";
    write_text(path, fmt::format(R"({{"experts": {}{}}})", experts_json, extra));
    return load_expert_registry(path);
  }
  std::string dir_;
};

TEST_F(Registry, ParsesEveryField) {
  const ExpertRegistry r = parse(
      fmt::format(R"([
        {{"name": "tiny", "model": "tiny.gguf", "dtype": "q8_0", "activations": "int8", "categories": ["math", "code"],
          "prompt_template": "Q: {{{{question}}}}\nA:",
          "generation": {{"max_tokens": 32, "temperature": 0.0, "top_k": 5, "top_p": 0.9, "min_p": 0.1,
                          "repetition_penalty": 1.1, "seed": 7}}}},
        {{"name": "stories", "model": "{}"}},
        {{"name": "aidreams", "model": "{}", "tokenizer": "{}", "dtype": "file"}}])",
                  stories_gguf(), aidreams_bin(), aidreams_tok()),
      R"(, "store": {"resident_bytes": "64MiB", "host_bytes": 1000000}, "fallback": "stories")");
  ASSERT_EQ(r.experts.size(), 3u);
  const ExpertSpec& t = r.experts[0];
  EXPECT_EQ(t.model_path, dir_ + "/tiny.gguf");
  EXPECT_EQ(t.dtype, chorus::kernels::GgmlType::Q8_0);
  EXPECT_EQ(t.activations, chorus::kernels::ActivationPrecision::kInt8);
  EXPECT_FALSE(r.experts[1].activations.has_value());
  EXPECT_EQ(t.categories, (std::vector<std::string>{"math", "code"}));
  EXPECT_EQ(t.prompt_template, "Q: {{question}}\nA:");
  EXPECT_EQ(t.generation.max_tokens, 32);
  EXPECT_EQ(t.generation.sampling.top_k, 5);
  EXPECT_FLOAT_EQ(t.generation.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(t.generation.sampling.seed, 7u);
  EXPECT_FALSE(r.experts[2].dtype.has_value());
  EXPECT_EQ(r.store.resident_bytes, 64ull << 20);
  EXPECT_EQ(r.store.host_bytes, 1000000u);
  EXPECT_EQ(r.fallback_expert, "stories");
  EXPECT_FALSE(r.refuse_out_of_domain);  // a fallback is named and no policy given
  EXPECT_NE(r.find("aidreams"), nullptr);
  EXPECT_EQ(r.find("nobody"), nullptr);
}

TEST_F(Registry, ErrorsNameTheEntry) {
  expect_error([&] { parse(R"([{"name": "ghost", "model": "missing.gguf"}])"); }, ErrorCode::kNotFound,
               {"experts.json", "expert 'ghost' (entry 0)", "missing.gguf", "does not exist"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf", "colour": "red"}])"); },
               ErrorCode::kInvalidArgument, {"expert 'a' (entry 0)", "unknown field 'colour'"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf"}, {"name": "a", "model": "tiny.gguf"}])"); },
               ErrorCode::kInvalidArgument, {"expert 'a' (entry 1)", "duplicate expert name"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf", "dtype": "q3_K"}])"); },
               ErrorCode::kInvalidArgument, {"expert 'a'", "dtype 'q3_K'"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf", "activations": "int4"}])"); },
               ErrorCode::kInvalidArgument, {"expert 'a'", "activations 'int4'"});
  expect_error([&] { parse(R"([{"model": "tiny.gguf"}])"); }, ErrorCode::kInvalidArgument,
               {"expert entry 0", "missing field 'name'"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf", "generation": {"top_p": 2}}])"); },
               ErrorCode::kInvalidArgument, {"expert 'a'", "top_p"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf", "generation": {"seed": -1}}])"); },
               ErrorCode::kInvalidArgument, {"generation.seed"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf"}])", R"(, "store": {"resident_bytes": "lots"})"); },
               ErrorCode::kInvalidArgument, {"store.resident_bytes", "lots"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf"}])", R"(, "fallback": "b")"); },
               ErrorCode::kInvalidArgument, {"fallback expert 'b'"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf"}])", R"(, "on_out_of_domain": "fallback")"); },
               ErrorCode::kInvalidArgument, {"no 'fallback' expert"});
  expect_error([&] { parse(R"([])"); }, ErrorCode::kInvalidArgument, {"non-empty list"});
  expect_error([&] { parse(R"([{"name": "a", "model": "tiny.gguf"}])", R"(, "routers": 1)"); },
               ErrorCode::kInvalidArgument, {"unknown field 'routers'"});
  write_text(dir_ + "/broken.json", "{\"experts\": [");
  expect_error([&] { load_expert_registry(dir_ + "/broken.json"); }, ErrorCode::kFormat, {"broken.json", "not valid JSON"});
}

TEST_F(Registry, TokenizerMustFitTheModel) {
  // aidreams260K has a 512-token vocabulary; the Llama 2 tokenizer has 32000 tokens.
  const std::string llama2_tok = chorus::test::fixture_dir() + "/tokenizers/llama2/tokenizer.bin";
  expect_error([&] { parse(fmt::format(R"([{{"name": "ad", "model": "{}", "tokenizer": "{}"}}])", aidreams_bin(), llama2_tok)); },
               ErrorCode::kInvalidArgument, {"expert 'ad'", "32000 tokens", "vocabulary of 512"});
  // A GGUF named as the tokenizer is counted by its embedded vocabulary.
  synthetic(dir_, "vocab256", 1, 2, 256);
  expect_error([&] { parse(fmt::format(R"([{{"name": "st", "model": "{}", "tokenizer": "vocab256.gguf"}}])", stories_gguf())); },
               ErrorCode::kInvalidArgument, {"expert 'st'", "256 tokens", "vocabulary of 512"});
  // A llama2.c checkpoint has no vocabulary of its own.
  expect_error([&] { parse(fmt::format(R"([{{"name": "ad", "model": "{}"}}])", aidreams_bin())); },
               ErrorCode::kInvalidArgument, {"expert 'ad'", "no embedded vocabulary"});
  // A truncated tokenizer.bin is a format error naming the entry.
  std::filesystem::copy_file(aidreams_tok(), dir_ + "/cut.bin");
  std::filesystem::resize_file(dir_ + "/cut.bin", 1000);
  expect_error([&] { parse(fmt::format(R"([{{"name": "ad", "model": "{}", "tokenizer": "cut.bin"}}])", aidreams_bin())); },
               ErrorCode::kFormat, {"expert 'ad'", "cut.bin", "token"});
}

// ---------------------------------------------------------------- layout

TEST(ExpertLayout, DtypeConvertsFloatMatricesOnly) {
  const std::string dir = chorus::test::temp_dir("weight_store_layout");
  const chorus::models::ModelFile f = chorus::models::open_model_file(synthetic(dir, "tiny", 2, 3));
  const ExpertLayout same = plan_expert_layout(f, std::nullopt);
  EXPECT_FALSE(same.converts);
  EXPECT_EQ(same.resident_bytes, same.host_bytes);
  EXPECT_EQ(same.host_bytes, f.tensor_bytes());  // the synthetic file has no padding between tensors
  const ExpertLayout q8 = plan_expert_layout(f, chorus::kernels::GgmlType::Q8_0);
  EXPECT_TRUE(q8.converts);
  EXPECT_LT(q8.resident_bytes, q8.host_bytes / 3);
  for (size_t i = 0; i < f.tensors.size(); ++i)
    EXPECT_EQ(q8.tensors[i].resident_type,
              f.tensors[i].dims.size() == 2 ? chorus::kernels::GgmlType::Q8_0 : chorus::kernels::GgmlType::F32)
        << f.tensors[i].name;
}

// ---------------------------------------------------------------- policy and pool

TEST(LruPolicy, EvictsLeastRecentFirstAndUpcomingLast) {
  LruPolicy lru;
  const std::vector<EvictionCandidate> c = {{"a", 1, 30}, {"b", 1, 10}, {"c", 1, 20}, {"d", 1, 40}};
  EXPECT_EQ(lru.eviction_order(Tier::kResident, c), (std::vector<size_t>{1, 2, 0, 3}));
  const std::vector<std::string> upcoming = {"b", "c"};  // b is needed first
  lru.set_upcoming(upcoming);
  EXPECT_EQ(lru.eviction_order(Tier::kResident, c), (std::vector<size_t>{0, 3, 2, 1}));
}

TEST(PagePool, ReusesChunksWithinItsLimit) {
  PagePool pool(3 * PagePool::kChunkBytes, false);
  {
    const PooledBuffer a = pool.acquire(PagePool::kChunkBytes + 1);  // two chunks
    std::memset(a.data(), 7, a.size());
    EXPECT_EQ(pool.retained_bytes(), 0u);
  }
  EXPECT_EQ(pool.retained_bytes(), 2 * PagePool::kChunkBytes);
  const PooledBuffer b = pool.acquire(3 * PagePool::kChunkBytes);  // the two kept chunks and a fresh one
  EXPECT_EQ(pool.retained_bytes(), 0u);
  EXPECT_EQ(b.data()[0], 7);  // the same pages, moved into place
  b.data()[b.size() - 1] = 1;
  pool.preallocate();  // the limit is all live: nothing to add
  EXPECT_EQ(pool.retained_bytes(), 0u);
}

TEST(PagePool, AHeadOffsetsTheDataInItsFirstChunk) {
  PagePool pool(4 * PagePool::kChunkBytes, false);
  {
    const PooledBuffer a = pool.acquire(PagePool::kChunkBytes, 100);  // spills into a second chunk
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % PagePool::kChunkBytes, 100u);
    EXPECT_EQ(a.size(), PagePool::kChunkBytes);
    std::memset(a.data(), 3, a.size());
  }
  EXPECT_EQ(pool.retained_bytes(), 2 * PagePool::kChunkBytes);
  expect_error([&] { pool.acquire(16, PagePool::kChunkBytes); }, ErrorCode::kInvalidArgument, {"head"});
}

// A load reads the aligned middle of its span around the page cache when the
// buffer shares the file's alignment, and all of it through the cache when
// not: either way, every byte of the span and nothing else.
TEST(TierMoves, ReadEveryByteOfTheSpanWhateverTheAlignment) {
  const std::string dir = chorus::test::temp_dir("tier_moves_alignment");
  const std::string path = dir + "/bytes.bin";
  std::vector<uint8_t> bytes(5 * 4096 + 123);
  std::mt19937 rng(7);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  const ExpertFileRef file{path, bytes.size()};
  PagePool pool(8 * PagePool::kChunkBytes, false);
  for (const uint64_t offset : std::vector<uint64_t>{0, 17, 4095, 4096, 8197})
    for (const uint64_t length : std::vector<uint64_t>{1, 4096, 3 * 4096 + 5, bytes.size() - offset}) {
      if (offset + length > bytes.size()) continue;
      ExpertLayout layout;
      layout.file_offset = offset;
      layout.host_bytes = length;
      for (size_t head : {direct_read_head(layout), (direct_read_head(layout) + 1) % 4096}) {
        SCOPED_TRACE(fmt::format("offset {} length {} head {}", offset, length, head));
        const PooledBuffer buf = pool.acquire(length + 1, head);
        buf.data()[length] = 0xA5;  // must stay: the read ends at the span's end
        read_host_copy(file, layout, buf.data(), 8192);  // small chunks: several direct reads
        ASSERT_EQ(std::memcmp(buf.data(), bytes.data() + offset, length), 0);
        EXPECT_EQ(buf.data()[length], 0xA5);
      }
    }
}

// ---------------------------------------------------------------- the store

// Logits of a short prompt, one forward call.
std::vector<float> prompt_logits(const chorus::models::ModelFile& file, const chorus::models::LlamaWeights& weights) {
  chorus::models::LlamaModel model(file.config);
  ContiguousKvCache kv(file.config.n_layers, file.config.kv_dim(), 16);
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
  const chorus::models::SequenceChunk chunk{0, tokens, 0};
  std::vector<float> logits;
  model.forward(weights, {&chunk, 1}, kv, logits);
  return logits;
}

TEST(WeightStore, PinnedWeightsGiveTheLogitsOfADirectLoad) {
  const LoadedModel stories = load_model(stories_gguf());
  const LoadedModel aidreams = load_model(aidreams_bin(), aidreams_tok());
  const uint64_t larger = std::max(stories.file.tensor_bytes(), aidreams.file.tensor_bytes());
  // Room for one of them at a time: the second pin evicts the first.
  WeightStore store({spec("stories", stories_gguf()), spec("aidreams", aidreams_bin())}, {larger + 4096, 0});
  for (int round = 0; round < 2; ++round) {
    for (const LoadedModel* direct : {&stories, &aidreams}) {
      const PinnedExpert pinned = store.pin(direct == &stories ? "stories" : "aidreams");
      EXPECT_EQ(prompt_logits(pinned.file(), pinned.weights()), prompt_logits(direct->file, direct->weights))
          << pinned.name() << " round " << round;
      EXPECT_NE(pinned.weights().token_embedding.data, direct->weights.token_embedding.data);
    }
  }
  const StoreSnapshot s = store.snapshot();
  EXPECT_EQ(s.experts[0].metrics.misses, 2u);
  EXPECT_EQ(s.experts[0].metrics.resident_evictions, 2u);
  EXPECT_LE(s.resident.used, s.resident.budget);
}

TEST(WeightStore, ConvertedResidentCopyRuns) {
  ExpertSpec q8 = spec("stories-q8", stories_gguf());
  q8.dtype = chorus::kernels::GgmlType::Q8_0;
  WeightStore store({q8, spec("stories", stories_gguf())}, {64u << 20, 64u << 20});
  const PinnedExpert converted = store.pin("stories-q8");
  const PinnedExpert original = store.pin("stories");
  EXPECT_EQ(converted.weights().layers[0].wq.type, chorus::kernels::GgmlType::Q8_0);
  const std::vector<float> a = prompt_logits(converted.file(), converted.weights());
  const std::vector<float> b = prompt_logits(original.file(), original.weights());
  double err = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::isfinite(a[i]));
    err += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 0.05);  // q8_0 weights stay within a few percent
  EXPECT_EQ(store.snapshot().experts[0].resident_type, "q8_0");
}

TEST(WeightStore, BudgetsAreNeverOvercommitted) {
  const std::string dir = chorus::test::temp_dir("weight_store_budget");
  const std::string a = synthetic(dir, "a", 2, 1), b = synthetic(dir, "b", 2, 2);
  const uint64_t bytes = chorus::models::open_model_file(a).tensor_bytes();
  {
    WeightStore store({spec("a", a)}, {bytes - 1, 0});
    expect_error([&] { store.pin("a"); }, ErrorCode::kResourceExhausted, {"expert 'a'", "resident tier"});
    expect_error([&] { store.pin("zzz"); }, ErrorCode::kNotFound, {"zzz"});
  }
  WeightStore store({spec("a", a), spec("b", b)}, {bytes + bytes / 2, 0});
  PinnedExpert held = store.pin("a");
  expect_error([&] { store.pin("b"); }, ErrorCode::kResourceExhausted, {"expert 'b'", "a (pinned)"});
  expect_error([&] { store.evict("a", Tier::kDisk); }, ErrorCode::kInvalidArgument, {"pinned"});
  held.release();
  const PinnedExpert pb = store.pin("b");  // now a can go
  const StoreSnapshot s = store.snapshot();
  EXPECT_FALSE(s.experts[0].in_resident);
  EXPECT_TRUE(s.experts[1].in_resident);
  EXPECT_EQ(s.resident.used, bytes);
}

TEST(WeightStore, HostTierServesTheNextSwitch) {
  const std::string dir = chorus::test::temp_dir("weight_store_host");
  const std::string a = synthetic(dir, "a", 2, 1);
  WeightStore store({spec("a", a)}, {1u << 20, 1u << 20});
  store.prefetch("a", Tier::kHost);
  store.wait_idle();
  StoreSnapshot s = store.snapshot();
  EXPECT_TRUE(s.experts[0].in_host);
  EXPECT_FALSE(s.experts[0].in_resident);
  ASSERT_EQ(s.moves.size(), 1u);
  EXPECT_EQ(s.moves[0].from, Tier::kDisk);
  EXPECT_EQ(s.moves[0].to, Tier::kHost);
  { const PinnedExpert p = store.pin("a"); }
  { const PinnedExpert p = store.pin("a"); }
  store.evict("a", Tier::kHost);
  { const PinnedExpert p = store.pin("a"); }
  s = store.snapshot();
  ASSERT_EQ(s.moves.size(), 3u);
  for (size_t i : {1, 2}) {
    EXPECT_EQ(s.moves[i].from, Tier::kHost);
    EXPECT_EQ(s.moves[i].to, Tier::kResident);
  }
  const ExpertMetrics& m = s.experts[0].metrics;
  EXPECT_EQ(m.pins, 3u);
  EXPECT_EQ(m.hits, 1u);
  EXPECT_EQ(m.misses, 2u);
  EXPECT_EQ(m.resident_evictions, 1u);
  store.evict("a", Tier::kDisk);
  s = store.snapshot();
  EXPECT_FALSE(s.experts[0].in_host || s.experts[0].in_resident);
  EXPECT_EQ(s.host.used + s.resident.used, 0u);
}

TEST(WeightStore, ABrokenFileFailsOnlyItsExpert) {
  const std::string dir = chorus::test::temp_dir("weight_store_broken");
  const std::string a = synthetic(dir, "a", 2, 1), b = synthetic(dir, "b", 2, 2), c = synthetic(dir, "c", 2, 3);
  WeightStore store({spec("a", a), spec("b", b), spec("c", c)}, {8u << 20, 8u << 20});
  std::filesystem::resize_file(a, std::filesystem::file_size(a) / 2);
  std::filesystem::remove(c);
  expect_error([&] { store.pin("a"); }, ErrorCode::kIo, {"a.gguf", "changed since it was registered"});
  expect_error([&] { store.pin("c"); }, ErrorCode::kIo, {"c.gguf", "cannot open"});
  store.prefetch("a");
  store.wait_idle();
  const PinnedExpert pb = store.pin("b");
  EXPECT_EQ(pb.weights().layers.size(), 2u);
  const StoreSnapshot s = store.snapshot();
  EXPECT_FALSE(s.experts[0].in_host || s.experts[0].in_resident);
  EXPECT_NE(s.experts[0].metrics.last_error.find("changed since"), std::string::npos);
  EXPECT_EQ(s.resident.used, s.experts[1].resident_bytes);
  EXPECT_EQ(s.host.used, s.experts[1].host_bytes);
}

// Checks every invariant of a snapshot (budgets, accounting, pins only on resident experts).
void check_invariants(const StoreSnapshot& s) {
  uint64_t resident = 0, host = 0;
  for (const ExpertState& e : s.experts) {
    if (e.in_resident || e.loading_resident) resident += e.resident_bytes;
    if (e.in_host || e.loading_host) host += e.host_bytes;
    if (e.pins > 0) EXPECT_TRUE(e.in_resident) << e.name << " is pinned but not resident";
    EXPECT_FALSE(e.in_resident && e.loading_resident) << e.name;
  }
  EXPECT_EQ(s.resident.used, resident);
  EXPECT_EQ(s.host.used, host);
  EXPECT_LE(s.resident.used, s.resident.budget);
  EXPECT_LE(s.host.used, s.host.budget);
}

TEST(WeightStore, InvariantsHoldUnderConcurrentRandomUse) {
  const std::string dir = chorus::test::temp_dir("weight_store_random");
  std::vector<ExpertSpec> specs;
  std::vector<float> first_weight;  // token_embd[0][0] of each expert, from its file
  for (int i = 0; i < 6; ++i) {
    ExpertSpec s = spec(fmt::format("e{}", i), synthetic(dir, fmt::format("e{}", i), 1 + i % 3, 100 + i));
    if (i == 5) s.dtype = chorus::kernels::GgmlType::BF16;
    const chorus::models::ModelFile f = chorus::models::open_model_file(s.model_path);
    first_weight.push_back(*reinterpret_cast<const float*>(f.tensor("token_embd.weight").data));
    specs.push_back(s);
  }
  const uint64_t one = chorus::models::open_model_file(specs[1].model_path).tensor_bytes();
  WeightStoreOptions options;
  options.loader_threads = 2;
  WeightStore store(specs, {3 * one, 4 * one}, std::move(options));

  std::atomic<int> pins_ok{0};
  auto worker = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int step = 0; step < 150; ++step) {
      const std::string name = fmt::format("e{}", rng() % 6);
      try {
        switch (rng() % 5) {
          case 0:
          case 1: {
            const PinnedExpert p = store.pin(name);
            const size_t i = static_cast<size_t>(name[1] - '0');
            const auto* w = p.weights().token_embedding.data;
            const float v = i == 5 ? chorus::kernels::bf16_to_fp32(*reinterpret_cast<const uint16_t*>(w))
                                   : *reinterpret_cast<const float*>(w);
            EXPECT_NEAR(v, first_weight[i], 1e-3f) << name;
            check_invariants(store.snapshot());
            ++pins_ok;
            break;
          }
          case 2: store.prefetch(name, rng() % 2 ? Tier::kHost : Tier::kResident); break;
          case 3: store.evict(name, rng() % 2 ? Tier::kHost : Tier::kDisk); break;
          case 4: store.set_upcoming({name, fmt::format("e{}", rng() % 6)}); break;
        }
      } catch (const Error& e) {
        // Pins can find the budget held by other threads' pins; evict can find the expert pinned.
        EXPECT_TRUE(e.code() == ErrorCode::kResourceExhausted || e.code() == ErrorCode::kInvalidArgument) << e.what();
      }
      check_invariants(store.snapshot());
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) threads.emplace_back(worker, 1000 + t);
  for (std::thread& t : threads) t.join();
  store.wait_idle();
  const StoreSnapshot s = store.snapshot();
  check_invariants(s);
  for (const ExpertState& e : s.experts) {
    EXPECT_EQ(e.pins, 0u);
    EXPECT_FALSE(e.loading_host || e.loading_resident);
  }
  EXPECT_GT(pins_ok.load(), 0);
}

}  // namespace
