// chorus serve's HTTP layer over loopback, with a scripted backend in place of
// the models: routes, streaming, every refusal, the bounded queue, clients
// that hang up.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "tools/serve/http_server.h"

namespace chorus::serve {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Answers "Hello world" in four tokens; with a prompt of "block" it waits
// (without tokens) until its request is cancelled or release() is called.
class ScriptedBackend : public Backend {
 public:
  std::vector<std::string> experts() const override { return {"alpha", "beta"}; }
  int32_t prompt_tokens(const std::string&, const CompletionRequest& r) const override {
    size_t n = r.prompt.size();
    for (const auto& m : r.messages) n += m.content.size();
    return static_cast<int32_t>(n);
  }
  int32_t context(const std::string&) const override { return 64; }

  GenerateResult generate(const std::string&, const CompletionRequest& r, const GenerateParams& p) override {
    GenerateResult g;
    g.prompt_tokens = prompt_tokens("", r);
    const bool block = r.prompt == "block" || (!r.messages.empty() && r.messages.back().content == "block");
    if (block) {
      std::unique_lock<std::mutex> lock(mu_);
      ++blocked_;
      changed_.notify_all();
      // The cancel flag is set without a notification: poll it, as the engine does each step.
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (!released_ && !(p.cancel && p.cancel->load()) && std::chrono::steady_clock::now() < deadline)
        changed_.wait_for(lock, 5ms);
      cancelled_ += p.cancel && p.cancel->load();
      changed_.notify_all();
      g.finish_reason = "cancelled";
      return g;
    }
    if (p.grammar == "bad") throw chorus::Error(chorus::ErrorCode::kInvalidArgument, "grammar:1:1: expected a rule name");
    for (const char* piece : {"Hel", "lo", " wor", "ld"}) {
      TokenEvent e;
      e.piece = piece;
      if (p.on_token && !p.on_token(e)) {
        g.finish_reason = "cancelled";
        return g;
      }
      g.text += piece;
      g.tokens.push_back(static_cast<int32_t>(g.tokens.size()));
    }
    g.finish_reason = "max_tokens";
    return g;
  }

  AskResult ask(const std::string& question, const AskParams& p) override {
    AskResult a;
    a.answer = "Answer to " + question;
    a.ok = true;
    NodeOutcome node;
    node.id = "q1";
    node.expert = "alpha";
    node.status = "done";
    node.output = a.answer;
    node.prompt_tokens = 5;
    node.generated_tokens = 2;
    a.nodes = {node};
    a.json = R"({"plan": {"nodes": [{"id": "q1"}]}})";
    TokenEvent e;
    e.piece = a.answer;
    if (p.on_final_token) p.on_final_token(e);
    return a;
  }
  ComposerMetrics metrics() const override { return {}; }

  void wait_blocked(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(changed_.wait_for(lock, 10s, [&] { return blocked_ >= n; }));
  }
  bool wait_cancelled(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, 10s, [&] { return cancelled_ >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int blocked_ = 0, cancelled_ = 0;
  bool released_ = false;
};

// Waits (up to 5 s) until the server's bookkeeping after a response makes
// `done` true; the assertions that follow say what was expected.
template <class Done>
void eventually(const Done& done) {
  for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
}

class ServeHttp : public ::testing::Test {
 protected:
  void start(ServeLimits limits = {}) {
    ctx_ = std::make_unique<ServeContext>(backend_, std::move(limits));
    server_ = std::make_unique<HttpServer>(*ctx_);
    port_ = server_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_->listen(); });
  }
  void TearDown() override {
    backend_.release();
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Client client(const std::string& key = "") {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    if (!key.empty()) c.set_bearer_token_auth(key.c_str());
    return c;
  }
  httplib::Result post(const std::string& path, const std::string& body) {
    return client().Post(path.c_str(), body, "application/json");
  }
  // The error object's fields, checked to be exactly OpenAI's.
  static json error_of(const httplib::Result& r) {
    const json body = json::parse(r->body);
    EXPECT_EQ(body.size(), 1u);
    EXPECT_EQ(body["error"].size(), 4u) << r->body;
    return body["error"];
  }

  ScriptedBackend backend_;
  std::unique_ptr<ServeContext> ctx_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

const std::string kChat = R"({"model": "alpha", "messages": [{"role": "user", "content": "hi"}])";

TEST_F(ServeHttp, ListsExpertsAndTheComposition) {
  start();
  auto r = client().Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::vector<std::string> ids;
  const json body = json::parse(r->body);
  for (const auto& m : body["data"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"alpha", "beta", "chorus"}));
  EXPECT_EQ(client().Get("/v1/models/beta")->status, 200);
  EXPECT_EQ(error_of(client().Get("/v1/models/gamma"))["code"], "model_not_found");
  EXPECT_EQ(json::parse(client().Get("/health")->body)["status"], "ok");
}

TEST_F(ServeHttp, ChatCompletionWithUsage) {
  start();
  auto r = post("/v1/chat/completions", kChat + "}");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello world");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"], json::parse(R"({"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6})"));
  // The server counts a response once it is written (httplib's logger), which
  // can be just after the client has read it.
  const std::string counted = "chorus_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1\n";
  std::string metrics;
  eventually([&] { return (metrics = client().Get("/metrics")->body).find(counted) != std::string::npos; });
  EXPECT_NE(metrics.find(counted), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("chorus_completion_tokens_total 4\n"), std::string::npos);
}

TEST_F(ServeHttp, StreamsServerSentEventsEndingInDone) {
  start();
  auto r = post("/v1/chat/completions", kChat + R"(, "stream": true, "stream_options": {"include_usage": true}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> events;
  std::string text;
  size_t at = 0;
  while (at < r->body.size()) {
    const size_t end = r->body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos);
    const std::string line = r->body.substr(at, end - at);
    ASSERT_EQ(line.rfind("data: ", 0), 0u) << line;
    at = end + 2;
    if (line == "data: [DONE]") {
      EXPECT_EQ(at, r->body.size());
      break;
    }
    events.push_back(json::parse(line.substr(6)));
  }
  ASSERT_EQ(events.size(), 6u);  // four tokens, the finish chunk, the usage chunk
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  for (size_t i = 0; i < 4; ++i) text += events[i]["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(text, "Hello world");
  EXPECT_EQ(events[4]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[5]["usage"]["completion_tokens"], 4);
}

TEST_F(ServeHttp, RefusalsAreOpenAIErrorObjects) {
  ServeLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_prompt_tokens = 10;
  start(limits);
  auto unknown = post("/v1/chat/completions", R"({"model": "gamma", "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(error_of(unknown)["code"], "model_not_found");
  EXPECT_EQ(error_of(unknown)["param"], "model");

  auto malformed = post("/v1/completions", "{nope");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(error_of(malformed)["type"], "invalid_request_error");

  auto field = post("/v1/chat/completions", kChat + R"(, "logit_bias": {}})");
  EXPECT_EQ(field->status, 400);
  EXPECT_EQ(error_of(field)["param"], "logit_bias");

  auto long_prompt = post("/v1/completions", R"({"model": "alpha", "prompt": "0123456789ab"})");
  EXPECT_EQ(long_prompt->status, 400);
  EXPECT_EQ(error_of(long_prompt)["code"], "context_length_exceeded");
  EXPECT_NE(error_of(long_prompt)["message"].get<std::string>().find("limit is 10 (--max-prompt-tokens)"), std::string::npos);

  auto big = post("/v1/completions", R"({"model": "alpha", "prompt": ")" + std::string(5000, 'x') + "\"}");
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(error_of(big)["message"].get<std::string>().find("limit of 4096 bytes (--max-body-bytes)"), std::string::npos);

  auto grammar = post("/v1/completions", R"({"model": "alpha", "prompt": "x", "response_format": {"type": "gbnf", "grammar": "bad"}})");
  EXPECT_EQ(grammar->status, 400);
  EXPECT_EQ(error_of(grammar)["param"], "response_format");

  auto route = client().Get("/v2/nothing");
  EXPECT_EQ(route->status, 404);
  EXPECT_EQ(error_of(route)["code"], "unknown_url");
  EXPECT_EQ(client().Get("/v1/completions")->status, 405);

  const std::string metrics = client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("chorus_http_requests_total{route=\"other\",status=\"404\"} 1\n"), std::string::npos) << metrics;
}

TEST_F(ServeHttp, AnApiKeyGuardsAllButHealth) {
  ServeLimits limits;
  limits.api_key = "sesame";
  start(limits);
  auto anonymous = client().Get("/v1/models");
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(error_of(anonymous)["code"], "invalid_api_key");
  EXPECT_EQ(client("wrong").Get("/v1/models")->status, 401);
  EXPECT_EQ(client("sesame").Get("/v1/models")->status, 200);
  EXPECT_EQ(client().Get("/health")->status, 200);
}

TEST_F(ServeHttp, AFullQueueAnswers429WithRetryAfter) {
  ServeLimits limits;
  limits.max_queue = 1;
  start(limits);
  std::thread first([&] { post("/v1/completions", R"({"model": "alpha", "prompt": "block"})"); });
  backend_.wait_blocked(1);
  auto refused = post("/v1/completions", R"({"model": "beta", "prompt": "x"})");
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_EQ(error_of(refused)["code"], "queue_full");
  backend_.release();
  first.join();
  EXPECT_EQ(post("/v1/completions", R"({"model": "beta", "prompt": "x"})")->status, 200);
}

TEST_F(ServeHttp, AClientThatHangsUpCancelsItsRequest) {
  start();
  for (const bool stream : {false, true}) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(0, 300000);  // gives up after 0.3 s and closes the connection
    auto r = c.Post("/v1/completions", stream ? R"({"model": "alpha", "prompt": "block", "stream": true})"
                                              : R"({"model": "alpha", "prompt": "block"})", "application/json");
    EXPECT_FALSE(r);
    c.stop();
    EXPECT_TRUE(backend_.wait_cancelled(stream ? 2 : 1)) << "stream " << stream;
  }
  // The handlers finish their bookkeeping (the disconnect count, then the
  // admission slot) after the backend returns.
  eventually([&] { return ctx_->counters.disconnects() == 2 && ctx_->admission.in_flight() == 0; });
  EXPECT_EQ(ctx_->counters.disconnects(), 2);
  EXPECT_EQ(ctx_->admission.in_flight(), 0);
}

TEST_F(ServeHttp, TheCompositionAnswersWithItsReport) {
  start();
  auto r = post("/v1/chat/completions", R"({"model": "chorus", "messages": [{"role": "user", "content": "why?"}]})");
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Answer to why?");
  EXPECT_EQ(body["chorus"]["plan"]["nodes"][0]["id"], "q1");
  EXPECT_EQ(body["chorus"]["ok"], true);
  EXPECT_EQ(body["usage"]["completion_tokens"], 2);
  auto refused = post("/v1/chat/completions", R"({"model": "chorus", "temperature": 0, "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(error_of(refused)["param"], "temperature");
  auto streamed = post("/v1/completions", R"({"model": "chorus", "prompt": "how?", "stream": true})");
  EXPECT_NE(streamed->body.find(R"("text":"Answer to how?")"), std::string::npos) << streamed->body;
}

}  // namespace
}  // namespace chorus::serve
