// Paged KV cache: randomized fork / append / free / prefix-share sequences keep
// refcounts, block tables, the free list and every sequence's data intact.
#include "runtime/paged_kv_cache.h"

#include <immintrin.h>

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "chorus/error.h"

namespace {

using chorus::runtime::PagedKvCache;
using chorus::runtime::PagedKvConfig;

constexpr int kLayers = 2, kKvDim = 8, kBlock = 4;

// Position p of a sequence stores, in every element of K (and -K in V), the
// token at p plus the layer: what any sequence with the same tokens would store.
float value_of(int32_t token, int layer) { return static_cast<float>(token * 10 + layer); }

void append(PagedKvCache& kv, int32_t seq, std::vector<int32_t>& tokens, const std::vector<int32_t>& more) {
  const int32_t start = kv.length(seq);
  kv.reserve(seq, start + static_cast<int32_t>(more.size()));
  for (size_t i = 0; i < more.size(); ++i) {
    for (int l = 0; l < kLayers; ++l) {
      std::vector<float> k(kKvDim, value_of(more[i], l)), v(kKvDim, -value_of(more[i], l));
      kv.write(l, seq, start + static_cast<int32_t>(i), k.data(), v.data());
    }
    tokens.push_back(more[i]);
  }
}

void expect_contents(const PagedKvCache& kv, int32_t seq, const std::vector<int32_t>& tokens, chorus::models::KvType type) {
  ASSERT_EQ(kv.length(seq), static_cast<int32_t>(tokens.size()));
  const int32_t end = kv.length(seq);
  for (int l = 0; l < kLayers; ++l) {
    for (int32_t p = 0; p < end;) {
      auto run = kv.run(l, seq, p, end);
      ASSERT_GT(run.n, 0);
      ASSERT_LE(run.n, kBlock);
      for (int32_t i = 0; i < run.n; ++i) {
        const float want = value_of(tokens[p + i], l);
        float k0, v0;
        if (type == chorus::models::KvType::kF32) {
          k0 = static_cast<const float*>(run.k)[i * run.row_stride + kKvDim - 1];
          v0 = static_cast<const float*>(run.v)[i * run.row_stride];
        } else {
          k0 = _cvtsh_ss(static_cast<const uint16_t*>(run.k)[i * run.row_stride + kKvDim - 1]);
          v0 = _cvtsh_ss(static_cast<const uint16_t*>(run.v)[i * run.row_stride]);
        }
        ASSERT_EQ(k0, want) << "seq " << seq << " pos " << p + i << " layer " << l;
        ASSERT_EQ(v0, -want);
      }
      p += run.n;
    }
  }
}

class PagedKvProperty : public ::testing::TestWithParam<chorus::models::KvType> {};

TEST_P(PagedKvProperty, RandomOperationsKeepInvariantsAndData) {
  const auto type = GetParam();
  PagedKvCache kv(PagedKvConfig{kLayers, kKvDim, kBlock, 48, type});
  std::mt19937 rng(1234);
  std::map<int32_t, std::vector<int32_t>> model;  // seq -> tokens
  // Prompts come from a few shared stems so prefixes collide often.
  const std::vector<std::vector<int32_t>> stems = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 9, 9, 9, 9}, {7, 7, 7, 7, 7}};
  int32_t next_id = 0, exhausted = 0, attached = 0, shared_partial = 0;
  auto pick = [&]() { auto it = model.begin(); std::advance(it, rng() % model.size()); return it->first; };

  for (int op = 0; op < 4000; ++op) {
    const int kind = static_cast<int>(rng() % 10);
    try {
      if (kind <= 1 || model.empty()) {  // a new sequence with a prompt, sharing what is cached
        const int32_t id = next_id++;
        const auto& stem = stems[rng() % stems.size()];
        kv.add_sequence(id);
        model[id] = {};
        const int32_t got = kv.attach_prefix(id, stem, static_cast<int32_t>(stem.size()) - 1);
        attached += got;
        model[id].assign(stem.begin(), stem.begin() + got);
        append(kv, id, model[id], std::vector<int32_t>(stem.begin() + got, stem.end()));
        kv.publish_prefix(id, model[id], kv.length(id));
      } else if (kind <= 4) {  // append a few tokens
        const int32_t id = pick();
        std::vector<int32_t> more(1 + rng() % 6);
        for (auto& t : more) t = static_cast<int32_t>(rng() % 50);
        append(kv, id, model[id], more);
        kv.publish_prefix(id, model[id], kv.length(id));
      } else if (kind <= 6) {  // fork
        const int32_t parent = pick(), child = next_id++;
        kv.fork(parent, child);
        model[child] = model[parent];
      } else if (kind == 9) {  // a new sequence sharing a prefix of a running one: indexed blocks, then the donor's
        const int32_t donor = pick(), id = next_id++;
        const std::vector<int32_t> prompt = model[donor];
        kv.add_sequence(id);
        model[id] = {};
        const int32_t got = kv.attach_prefix(id, prompt, static_cast<int32_t>(prompt.size()));
        model[id].assign(prompt.begin(), prompt.begin() + got);
        const int32_t end = got + static_cast<int32_t>(rng() % (prompt.size() - got + 1));
        kv.share_prefix_from(id, donor, end);
        shared_partial += end % kBlock != 0;
        model[id].assign(prompt.begin(), prompt.begin() + end);
        append(kv, id, model[id], {static_cast<int32_t>(rng() % 50)});
      } else {  // free
        const int32_t id = pick();
        kv.free_sequence(id);
        model.erase(id);
      }
    } catch (const chorus::Error& e) {
      ASSERT_EQ(e.code(), chorus::ErrorCode::kResourceExhausted) << e.what();
      ++exhausted;
      // A refused reserve changed nothing; drop the sequence whose append failed to make room.
      if (!model.empty()) {
        const int32_t id = pick();
        kv.free_sequence(id);
        model.erase(id);
      }
    }
    ASSERT_NO_THROW(kv.check_invariants()) << "after op " << op;
    for (const auto& [id, tokens] : model) expect_contents(kv, id, tokens, type);
  }
  EXPECT_GT(exhausted, 0) << "the pool never ran out: the test did not exercise exhaustion";
  EXPECT_GT(attached, 0) << "no prefix was ever shared";
  EXPECT_GT(shared_partial, 0) << "no partial block was ever shared";
  for (const auto& [id, tokens] : model) kv.free_sequence(id);
  EXPECT_EQ(kv.free_blocks(), kv.total_blocks());
  kv.check_invariants();
}

INSTANTIATE_TEST_SUITE_P(F32AndF16, PagedKvProperty,
                         ::testing::Values(chorus::models::KvType::kF32, chorus::models::KvType::kF16));

TEST(PagedKv, ForkSharesFullBlocksAndCopiesPartialOnWrite) {
  PagedKvCache kv(PagedKvConfig{kLayers, kKvDim, kBlock, 16});
  std::vector<int32_t> parent_tokens, child_tokens;
  kv.add_sequence(0);
  append(kv, 0, parent_tokens, {1, 2, 3, 4, 5, 6});  // one full block + half of another
  EXPECT_EQ(kv.free_blocks(), 14);
  kv.fork(0, 1);
  child_tokens = parent_tokens;
  EXPECT_EQ(kv.free_blocks(), 14) << "fork must not allocate";
  EXPECT_EQ(kv.blocks_needed(1, 7), 1) << "the shared partial block is copied on first write";
  append(kv, 1, child_tokens, {40});
  append(kv, 0, parent_tokens, {30});
  EXPECT_EQ(kv.free_blocks(), 13);
  expect_contents(kv, 0, parent_tokens, chorus::models::KvType::kF32);
  expect_contents(kv, 1, child_tokens, chorus::models::KvType::kF32);
  kv.free_sequence(0);
  EXPECT_EQ(kv.free_blocks(), 14) << "freeing returns exactly the blocks nobody else holds";
  kv.check_invariants();
}

TEST(PagedKv, ExhaustionIsAnErrorThatChangesNothing) {
  PagedKvCache kv(PagedKvConfig{kLayers, kKvDim, kBlock, 2});
  kv.add_sequence(0);
  std::vector<int32_t> t;
  append(kv, 0, t, {1, 2, 3});
  EXPECT_THROW(kv.reserve(0, 9), chorus::Error);
  EXPECT_EQ(kv.length(0), 3);
  EXPECT_EQ(kv.free_blocks(), 1);
  kv.check_invariants();
}

TEST(PagedKv, PrefixSharingAttachesOnlyFullPublishedBlocks) {
  PagedKvCache kv(PagedKvConfig{kLayers, kKvDim, kBlock, 16});
  std::vector<int32_t> a;
  kv.add_sequence(0);
  append(kv, 0, a, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  kv.publish_prefix(0, a, 10);
  const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 11};
  EXPECT_EQ(kv.cached_prefix(prompt), 8);
  kv.add_sequence(1);
  EXPECT_EQ(kv.attach_prefix(1, prompt, 4), 4) << "capped by max_positions";
  kv.free_sequence(1);
  kv.add_sequence(2);
  EXPECT_EQ(kv.attach_prefix(2, prompt, 8), 8);
  EXPECT_EQ(kv.free_blocks(), 13);
  kv.free_sequence(0);
  EXPECT_EQ(kv.free_blocks(), 14);
  std::vector<int32_t> attached(prompt.begin(), prompt.begin() + 8);
  expect_contents(kv, 2, attached, chorus::models::KvType::kF32);
  kv.check_invariants();
}

}  // namespace
