// The C API (chorus/chorus.h), linked against libchorus.so as a C user links
// it: every status and its message, NULL and bad arguments, sized params,
// the callback's stop, and chorus_last_error per thread.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "chorus/chorus.h"
#include "test_paths.h"

namespace {

std::string stories() { return chorus::test::fixture_dir() + "/models/stories260K/stories260K.bin"; }

struct ModelHandle {
  chorus_model* m = nullptr;
  ModelHandle() {
    const chorus_status s = chorus_model_open(stories().c_str(), &m);
    EXPECT_EQ(s, CHORUS_OK) << chorus_last_error();
  }
  ~ModelHandle() { chorus_model_close(m); }
};

chorus_generate_params greedy(int32_t max_tokens) {
  chorus_generate_params p = chorus_generate_params_default();
  p.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

bool contains(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

TEST(ApiC, VersionAndStatusNames) {
  EXPECT_STREQ(chorus_version(), "0.2.0");
  EXPECT_STREQ(chorus_status_name(CHORUS_OK), "ok");
  EXPECT_STREQ(chorus_status_name(CHORUS_ERR_CANCELLED), "cancelled");
  EXPECT_STREQ(chorus_status_name(static_cast<chorus_status>(99)), "unknown");
  EXPECT_EQ(CHORUS_ERR_INVALID_ARGUMENT, 1);
  EXPECT_EQ(CHORUS_ERR_CANCELLED, 8);
}

TEST(ApiC, GenerateGreedyEqualsTheStreamedPieces) {
  ModelHandle h;
  chorus_generate_params p = greedy(24);
  std::string streamed;
  char* text = nullptr;
  const chorus_status s = chorus_generate(
      h.m, "Once upon a time", &p,
      [](const char* piece, void* user) {
        *static_cast<std::string*>(user) += piece;
        return true;
      },
      &streamed, &text);
  ASSERT_EQ(s, CHORUS_OK) << chorus_last_error();
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(streamed, text);
  EXPECT_FALSE(streamed.empty());
  // NULL params are the defaults, NULL callback and NULL out_text are allowed.
  EXPECT_EQ(chorus_generate(h.m, "Once", nullptr, nullptr, nullptr, nullptr), CHORUS_OK) << chorus_last_error();
  chorus_string_free(text);
}

TEST(ApiC, CallbackReturningFalseStops) {
  ModelHandle h;
  chorus_generate_params p = greedy(100);
  int calls = 0;
  char* text = nullptr;
  const chorus_status s = chorus_generate(
      h.m, "Once upon a time", &p, [](const char*, void* user) { return ++*static_cast<int*>(user) < 3; }, &calls,
      &text);
  EXPECT_EQ(s, CHORUS_OK);
  EXPECT_EQ(calls, 3);
  chorus_string_free(text);
}

// A flag already set: the call is cancelled before its first forward step, so
// no token reaches the callback (before the flag was also watched outside the
// callback, the first token still came). Set by the callback: the call stops.
TEST(ApiC, CancelFlagStopsTheCall) {
  ModelHandle h;
  chorus_generate_params p = greedy(400);
  volatile bool cancel = true;
  p.cancel = &cancel;
  struct Seen {
    int calls = 0;
    volatile bool* cancel;
  } seen{0, &cancel};
  char* text = nullptr;
  auto count = [](const char*, void* user) {
    auto* s = static_cast<Seen*>(user);
    if (++s->calls == 3) __atomic_store_n(s->cancel, true, __ATOMIC_RELAXED);
    return true;
  };
  EXPECT_EQ(chorus_generate(h.m, "Once upon a time", &p, count, &seen, &text), CHORUS_ERR_CANCELLED);
  EXPECT_EQ(seen.calls, 0);
  EXPECT_EQ(text, nullptr);
  __atomic_store_n(&cancel, false, __ATOMIC_RELAXED);
  EXPECT_EQ(chorus_generate(h.m, "Once upon a time", &p, count, &seen, &text), CHORUS_ERR_CANCELLED);
  EXPECT_GE(seen.calls, 3);
  EXPECT_LT(seen.calls, 400);  // tokens already made when the flag was set still arrive
  EXPECT_TRUE(contains(chorus_last_error(), "cancelled")) << chorus_last_error();
}

// The story ends at EOS well before 400 tokens; ignore_eos makes it run to max_tokens.
TEST(ApiC, IgnoreEosRunsToMaxTokens) {
  ModelHandle h;
  auto count = [](const char*, void* user) {
    ++*static_cast<int*>(user);
    return true;
  };
  chorus_generate_params p = greedy(400);
  int ended = 0, full = 0;
  ASSERT_EQ(chorus_generate(h.m, "Once upon a time", &p, count, &ended, nullptr), CHORUS_OK) << chorus_last_error();
  ASSERT_LT(ended, 400);
  p.ignore_eos = true;
  ASSERT_EQ(chorus_generate(h.m, "Once upon a time", &p, count, &full, nullptr), CHORUS_OK) << chorus_last_error();
  EXPECT_EQ(full, 400);
}

TEST(ApiC, NullAndInvalidArgumentsAreErrorsWithMessages) {
  chorus_model* m = reinterpret_cast<chorus_model*>(1);
  EXPECT_EQ(chorus_model_open(nullptr, &m), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_TRUE(contains(chorus_last_error(), "path is NULL")) << chorus_last_error();
  EXPECT_EQ(chorus_model_open(stories().c_str(), nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "out is NULL")) << chorus_last_error();
  EXPECT_EQ(chorus_model_open("bad\xff.gguf", &m), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "not valid UTF-8")) << chorus_last_error();
  EXPECT_EQ(chorus_generate(nullptr, "x", nullptr, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "model is NULL"));
  ModelHandle h;
  EXPECT_EQ(chorus_generate(h.m, nullptr, nullptr, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "prompt is NULL"));
  EXPECT_EQ(chorus_generate(h.m, "caf\xc3", nullptr, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "prompt is not valid UTF-8"));
  chorus_generate_params p = greedy(4);
  p.top_p = 3;
  EXPECT_EQ(chorus_generate(h.m, "Once", &p, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "top_p")) << chorus_last_error();
  p = greedy(4);
  p.n_stop = 2;
  EXPECT_EQ(chorus_generate(h.m, "Once", &p, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "stop is NULL")) << chorus_last_error();
  chorus_composer* c = nullptr;
  EXPECT_EQ(chorus_composer_open(nullptr, &c), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(chorus_ask(nullptr, "q", nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  chorus_model_close(nullptr);  // closing NULL is a no-op
  chorus_composer_close(nullptr);
  chorus_string_free(nullptr);
}

TEST(ApiC, EveryFileErrorHasItsStatus) {
  chorus_model* m = nullptr;
  EXPECT_EQ(chorus_model_open("/no/such/model.gguf", &m), CHORUS_ERR_NOT_FOUND) << chorus_last_error();
  EXPECT_TRUE(contains(chorus_last_error(), "/no/such/model.gguf")) << chorus_last_error();
  const std::string dir = chorus::test::temp_dir("api_c");
  const std::string bad = dir + "/bad.gguf";
  FILE* f = std::fopen(bad.c_str(), "wb");
  std::fputs("GGUF\x03\0\0\0garbage", f);
  std::fclose(f);
  EXPECT_EQ(chorus_model_open(bad.c_str(), &m), CHORUS_ERR_FORMAT) << chorus_last_error();
  chorus_model_params mp = chorus_model_params_default();
  mp.kernel_path = "avx1024";
  EXPECT_EQ(chorus_model_open_with(stories().c_str(), &mp, &m), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "kernel_path 'avx1024'")) << chorus_last_error();
  mp = chorus_model_params_default();
  mp.context = 4096;
  mp.max_running = 0;
  EXPECT_EQ(chorus_model_open_with(stories().c_str(), &mp, &m), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(chorus_last_error(), "max_running 0")) << chorus_last_error();
}

TEST(ApiC, SizedParamsFromAnOlderOrNewerCaller) {
  ModelHandle h;
  // An older caller knows fewer fields: the rest are the defaults.
  chorus_generate_params p = greedy(3);
  p.struct_size = offsetof(chorus_generate_params, top_k);
  char* text = nullptr;
  ASSERT_EQ(chorus_generate(h.m, "Once", &p, nullptr, nullptr, &text), CHORUS_OK) << chorus_last_error();
  chorus_string_free(text);
  // A newer caller's unknown fields must be zero.
  struct Newer {
    chorus_generate_params p;
    uint64_t unknown;
  } newer{greedy(3), 7};
  newer.p.struct_size = sizeof(Newer);
  EXPECT_EQ(chorus_generate(h.m, "Once", &newer.p, nullptr, nullptr, nullptr), CHORUS_ERR_UNSUPPORTED);
  newer.unknown = 0;
  EXPECT_EQ(chorus_generate(h.m, "Once", &newer.p, nullptr, nullptr, nullptr), CHORUS_OK) << chorus_last_error();
  p.struct_size = 2;
  EXPECT_EQ(chorus_generate(h.m, "Once", &p, nullptr, nullptr, nullptr), CHORUS_ERR_INVALID_ARGUMENT);
  // _init fills a struct of the caller's size.
  chorus_generate_params q;
  std::memset(&q, 0xff, sizeof(q));
  ASSERT_EQ(chorus_generate_params_init(&q, sizeof(q)), CHORUS_OK);
  EXPECT_EQ(q.max_tokens, 256);
  EXPECT_EQ(q.struct_size, sizeof(q));
  EXPECT_EQ(q.stop, nullptr);
}

TEST(ApiC, TokenizeDetokenizeAndInfo) {
  ModelHandle h;
  int32_t* ids = nullptr;
  size_t n = 0;
  ASSERT_EQ(chorus_tokenize(h.m, "Once upon a time", false, &ids, &n), CHORUS_OK) << chorus_last_error();
  ASSERT_GT(n, 0u);
  char* text = nullptr;
  ASSERT_EQ(chorus_detokenize(h.m, ids, n, &text), CHORUS_OK) << chorus_last_error();
  EXPECT_STREQ(text, "Once upon a time");
  chorus_string_free(text);
  chorus_tokens_free(ids);
  const int32_t bad[] = {5, 9999};
  EXPECT_EQ(chorus_detokenize(h.m, bad, 2, &text), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(text, nullptr);
  chorus_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(chorus_model_get_info(h.m, &info), CHORUS_OK);
  EXPECT_STREQ(info.architecture, "llama");
  EXPECT_EQ(info.vocab_size, 512);
  EXPECT_EQ(info.n_layers, 5);
}

TEST(ApiC, LastErrorIsPerThread) {
  chorus_model* m = nullptr;
  EXPECT_EQ(chorus_model_open(nullptr, &m), CHORUS_ERR_INVALID_ARGUMENT);
  std::string other;
  std::thread t([&] {
    chorus_model* n = nullptr;
    EXPECT_EQ(chorus_model_open("/no/such/file.gguf", &n), CHORUS_ERR_NOT_FOUND);
    other = chorus_last_error();
  });
  t.join();
  EXPECT_TRUE(contains(chorus_last_error(), "path is NULL")) << chorus_last_error();
  EXPECT_NE(other.find("/no/such/file.gguf"), std::string::npos) << other;
}

TEST(ApiC, EightThreadsGenerateTheirSoloOutputs) {
  ModelHandle h;
  const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Lily saw a", "One day, a big",
                                            "Tom had a red", "The sun was", "A little bird", "Sam and Mia"};
  std::vector<std::string> solo;
  for (const auto& p : prompts) {
    chorus_generate_params g = greedy(30);
    char* text = nullptr;
    ASSERT_EQ(chorus_generate(h.m, p.c_str(), &g, nullptr, nullptr, &text), CHORUS_OK);
    solo.emplace_back(text);
    chorus_string_free(text);
  }
  std::vector<std::string> together(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i)
    threads.emplace_back([&, i] {
      chorus_generate_params g = greedy(30);
      char* text = nullptr;
      if (chorus_generate(h.m, prompts[i].c_str(), &g, nullptr, nullptr, &text) == CHORUS_OK) together[i] = text;
      chorus_string_free(text);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(together, solo);
}

TEST(ApiC, AskAnswersWithJson) {
  const std::string dir = chorus::test::temp_dir("api_c_ask");
  const std::string fixtures = chorus::test::fixture_dir() + "/models/stories260K";
  const std::string config = dir + "/experts.json";
  FILE* f = std::fopen(config.c_str(), "w");
  std::fprintf(f,
               R"({"experts": [{"name": "tiny", "model": "%s/stories260K.bin", "tokenizer": "%s/tok512.bin",
                    "categories": ["stories"], "generation": {"max_tokens": 8, "temperature": 0}}],
                   "fallback": "tiny", "on_out_of_domain": "fallback"})",
               fixtures.c_str(), fixtures.c_str());
  std::fclose(f);
  // The build's default router sends a story to the "stories" category.
  const std::string router = chorus::test::binary_dir() + "/default_router.bin";
  chorus_composer_params params = chorus_composer_params_default();
  params.router = router.c_str();
  chorus_composer* c = nullptr;
  ASSERT_EQ(chorus_composer_open_with(config.c_str(), &params, &c), CHORUS_OK) << chorus_last_error();
  char* json = nullptr;
  ASSERT_EQ(chorus_ask(c, "Once upon a time", &json), CHORUS_OK) << chorus_last_error();
  const std::string j = json;
  EXPECT_NE(j.find("\"answer\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"ok\": true"), std::string::npos) << j;
  EXPECT_NE(j.find("\"nodes\""), std::string::npos) << j;
  chorus_string_free(json);
  EXPECT_EQ(chorus_ask(c, "bad\xff", &json), CHORUS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(json, nullptr);
  chorus_composer_close(c);
  EXPECT_EQ(chorus_composer_open((dir + "/missing.json").c_str(), &c), CHORUS_ERR_NOT_FOUND) << chorus_last_error();
}

}  // namespace
