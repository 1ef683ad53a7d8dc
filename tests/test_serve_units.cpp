// chorus serve's pieces that need no model: request checking, JSON schema to
// grammar, server-sent events, the error object, the Prometheus text.
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/grammar.h"
#include "runtime/grammar_state.h"
#include "tools/serve/admission.h"
#include "tools/serve/api_error.h"
#include "tools/serve/json_schema_grammar.h"
#include "tools/serve/metrics_text.h"
#include "tools/serve/request.h"
#include "tools/serve/responses.h"
#include "tools/serve/sse.h"

namespace chorus::serve {
namespace {

using nlohmann::json;

// The error a body gets, as "status param: message".
std::string refusal(const std::string& body, bool chat = true) {
  try {
    parse_completion_request(body, chat);
  } catch (const ApiError& e) {
    return std::to_string(e.status()) + " " + e.param() + ": " + e.what();
  }
  return "(accepted)";
}

TEST(ServeRequest, ReadsAChatRequest) {
  const auto r = parse_completion_request(R"({"model": "smollm2", "messages": [{"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": " there"}]}],
      "max_tokens": 12, "temperature": 0, "top_p": 0.5, "seed": 7, "stop": ["\n", "."], "stream": true,
      "stream_options": {"include_usage": true}})", true);
  EXPECT_EQ(r.model, "smollm2");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].role, "user");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.params.max_tokens, 12);
  EXPECT_EQ(r.params.temperature, 0.0f);
  EXPECT_EQ(r.params.top_p, 0.5f);
  EXPECT_EQ(r.params.top_k, 0);
  EXPECT_EQ(r.params.seed, 7u);
  EXPECT_EQ(r.params.stop, (std::vector<std::string>{"\n", "."}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.fields, (std::vector<std::string>{"max_tokens", "temperature", "top_p", "seed", "stop"}));
}

TEST(ServeRequest, ReadsACompletionRequestWithOpenAIDefaults) {
  const auto r = parse_completion_request(R"({"model": "m", "prompt": ["Once upon a time"]})", false);
  EXPECT_EQ(r.prompt, "Once upon a time");
  EXPECT_EQ(r.params.max_tokens, 16);
  EXPECT_EQ(r.params.temperature, 1.0f);
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.fields.empty());
}

TEST(ServeRequest, RefusesEachMalformedFieldByName) {
  EXPECT_EQ(refusal("{\"model\": "), "400 : the request body is not valid JSON");
  EXPECT_EQ(refusal("[1]"), "400 : the request body must be a JSON object");
  EXPECT_EQ(refusal(std::string(100000, '[') + std::string(100000, ']')), "400 : the request body is nested deeper than 64 levels");
  EXPECT_EQ(refusal(R"({"model": "m", "messages": []})"), "400 messages: 'messages' must be a non-empty array");
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "x"}]})"), "400 model: 'model' is required");
  EXPECT_EQ(refusal(R"({"model": 3, "messages": [{"role": "user", "content": "x"}]})"), "400 model: 'model' must be a string");
  EXPECT_EQ(refusal(R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})"),
            "400 messages[0].role: 'messages[0].role' must be \"system\", \"user\" or \"assistant\", not \"tool\"");
  EXPECT_EQ(refusal(R"({"model": "m", "messages": [{"role": "user"}]})"), "400 messages[0].content: 'messages[0].content' is required");
  EXPECT_EQ(refusal(R"({"model": "m", "messages": [{"role": "user", "content": "x", "tool_calls": []}]})"),
            "400 messages[0].tool_calls: unrecognized request argument supplied: messages[0].tool_calls");
  const std::string ok = R"("model": "m", "messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(refusal("{" + ok + R"(, "frequency_penalty": 1})"), "400 frequency_penalty: unrecognized request argument supplied: frequency_penalty");
  EXPECT_EQ(refusal("{" + ok + R"(, "max_tokens": "9"})"), "400 max_tokens: 'max_tokens' must be an integer");
  EXPECT_EQ(refusal("{" + ok + R"(, "max_tokens": 0})"), "400 max_tokens: 'max_tokens' must be at least 1");
  EXPECT_EQ(refusal("{" + ok + R"(, "max_tokens": 99999999999999999999})"), "400 max_tokens: 'max_tokens' must be an integer");
  EXPECT_EQ(refusal("{" + ok + R"(, "temperature": 2.5})"), "400 temperature: 'temperature' must be between 0 and 2");
  EXPECT_EQ(refusal("{" + ok + R"(, "top_p": 0})"), "400 top_p: 'top_p' must be greater than 0");
  EXPECT_EQ(refusal("{" + ok + R"(, "seed": -1})"), "400 seed: 'seed' must be at least 0");
  EXPECT_EQ(refusal("{" + ok + R"(, "n": 2})"), "400 n: 'n' must be 1: chorus returns one choice per request");
  EXPECT_EQ(refusal("{" + ok + R"(, "stop": ["a", "b", "c", "d", "e"]})"), "400 stop: 'stop' may hold at most 4 strings");
  EXPECT_EQ(refusal("{" + ok + R"(, "stop": [""]})"), "400 stop: a stop string must not be empty");
  EXPECT_EQ(refusal("{" + ok + R"(, "stream": "yes"})"), "400 stream: 'stream' must be a boolean");
  EXPECT_EQ(refusal("{" + ok + R"(, "stream_options": {"include_usage": true}})"),
            "400 stream_options: 'stream_options' is only allowed with \"stream\": true");
  EXPECT_EQ(refusal("{" + ok + R"(, "response_format": {"type": "xml"}})"),
            "400 response_format.type: 'response_format.type' must be \"text\", \"json_object\", \"json_schema\" or \"gbnf\" (a chorus extension), not \"xml\"");
  EXPECT_EQ(refusal(R"({"model": "m", "prompt": [1, 2]})", false), "400 prompt: 'prompt' must be a string (or an array of one string)");
  EXPECT_EQ(refusal(R"({"model": "m", "prompt": "x", "messages": []})", false),
            "400 messages: unrecognized request argument supplied: messages");
}

TEST(ServeRequest, ResponseFormatsBecomeGrammars) {
  const std::string head = R"({"model": "m", "prompt": "x", "response_format": )";
  EXPECT_EQ(parse_completion_request(head + R"({"type": "text"}})", false).params.grammar, "");
  EXPECT_NE(parse_completion_request(head + R"({"type": "json_object"}})", false).params.grammar, "");
  EXPECT_EQ(parse_completion_request(head + R"({"type": "gbnf", "grammar": "root ::= \"yes\""}})", false).params.grammar,
            "root ::= \"yes\"");
  EXPECT_EQ(refusal(head + R"({"type": "json_schema", "json_schema": {"name": "x"}}})", false),
            "400 response_format.json_schema.schema: 'response_format.json_schema.schema' is required");
}

std::shared_ptr<const runtime::Grammar> schema_grammar(const nlohmann::ordered_json& schema) {
  return std::make_shared<const runtime::Grammar>(runtime::Grammar::parse(json_schema_to_gbnf(schema), "schema"));
}

bool matches(const std::shared_ptr<const runtime::Grammar>& g, const std::string& text) {
  runtime::GrammarState s(g);
  return s.accept(text) && s.is_complete();
}

TEST(ServeJsonSchema, AcceptsExactlyTheDocumentsOfTheSchema) {
  const auto g = schema_grammar(nlohmann::ordered_json::parse(R"({"type": "object", "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
      "kind": {"enum": ["cat", "dog"]}, "ok": {"type": ["boolean", "null"]}}, "required": ["name"]})"));
  EXPECT_TRUE(matches(g, R"({"name": "Tom", "age": 3, "tags": ["a", "b"], "kind": "cat", "ok": null})"));
  EXPECT_TRUE(matches(g, "{\n  \"name\":\"\\u00e9\",\"age\":-1,\"tags\":[],\"kind\":\"dog\",\"ok\":true}"));
  EXPECT_FALSE(matches(g, R"({"name": "Tom"})"));                                                  // every property is written
  EXPECT_FALSE(matches(g, R"({"name": "Tom", "age": 3.5, "tags": [], "kind": "cat", "ok": true})"));  // not an integer
  EXPECT_FALSE(matches(g, R"({"name": "Tom", "age": 3, "tags": [], "kind": "cow", "ok": true})"));    // not in the enum
  EXPECT_FALSE(matches(g, R"({"age": 3, "name": "Tom", "tags": [], "kind": "cat", "ok": true})"));    // schema order
}

TEST(ServeJsonSchema, AnObjectWithoutPropertiesIsAnyObject) {
  const auto g = schema_grammar(json{{"type", "object"}});
  EXPECT_TRUE(matches(g, R"({"a": [1, {"b": null}], "c": "d"})"));
  EXPECT_TRUE(matches(g, "{}"));
  EXPECT_FALSE(matches(g, "[1]"));
  EXPECT_FALSE(matches(g, R"({"a": 1)"));
  const auto any = schema_grammar(json::object());
  EXPECT_TRUE(matches(any, "[1, \"x\", false]"));
  EXPECT_TRUE(matches(schema_grammar(json{{"const", "a\"b"}}), "\"a\\\"b\""));
  EXPECT_TRUE(matches(schema_grammar(json{{"anyOf", {{{"type", "number"}}, {{"type", "string"}}}}}), "2.5e3"));
}

TEST(ServeJsonSchema, RefusesWhatItCannotEnforceByName) {
  auto refusal_of = [](const nlohmann::ordered_json& schema) {
    try {
      json_schema_to_gbnf(schema);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.param(), "response_format");
      return std::string(e.what());
    }
    return std::string("(converted)");
  };
  EXPECT_EQ(refusal_of(json{{"type", "string"}, {"pattern", "^a$"}}), "response_format: schema: the keyword 'pattern' is not supported");
  EXPECT_EQ(refusal_of(nlohmann::ordered_json::parse(R"({"type": "object", "properties": {"n": {"type": "number", "minimum": 0}}})")),
            "response_format: schema.properties.n: the keyword 'minimum' is not supported");
  EXPECT_EQ(refusal_of(json{{"type", "date"}}), "response_format: schema.type 'date' is not a JSON schema type");
  EXPECT_EQ(refusal_of(json{{"enum", json::array()}}), "response_format: schema.enum must be a non-empty array");
  EXPECT_EQ(refusal_of(json(3)), "response_format: schema must be an object");
  nlohmann::ordered_json deep = {{"type", "string"}};
  for (int i = 0; i < 40; ++i) deep = {{"type", "array"}, {"items", std::move(deep)}};
  EXPECT_NE(refusal_of(deep).find("the schema is nested deeper than 32 levels"), std::string::npos);
}

TEST(ServeSse, EventsAndSplitCharacters) {
  EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_event(json{{"a", "\xff"}}), "data: {\"a\":\"\xEF\xBF\xBD\"}\n\n");  // invalid UTF-8 as U+FFFD
  Utf8Carry carry;
  EXPECT_EQ(carry.take("caf\xC3"), "caf");        // é's first byte waits
  EXPECT_EQ(carry.take("\xA9 ok"), "\xC3\xA9 ok");
  EXPECT_EQ(carry.take("\xF0\x9F"), "");           // half of a 4-byte emoji
  EXPECT_EQ(carry.take("\x98\x80!"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(carry.take("\xE2\x82"), "");
  EXPECT_EQ(carry.flush(), "\xE2\x82");            // an unfinished character at the end is handed back
}

TEST(ServeResponses, OpenAIShapes) {
  const ResponseMeta chat{"chatcmpl-1", "smollm2", 5, true};
  const json body = completion_body(chat, "Paris.", "stop", {10, 3});
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Paris.");
  EXPECT_EQ(body["usage"]["total_tokens"], 13);
  EXPECT_EQ(chunk_body(chat, "Pa", true, std::nullopt)["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", "Pa"}}));
  EXPECT_EQ(chunk_body(chat, "", false, "length")["choices"][0]["delta"], json::object());
  const ResponseMeta text{"cmpl-1", "smollm2", 5, false};
  EXPECT_EQ(completion_body(text, "x", "length", {})["choices"][0]["text"], "x");
  EXPECT_EQ(openai_finish_reason("max_tokens"), "length");
  EXPECT_EQ(openai_finish_reason("eos"), "stop");
  EXPECT_EQ(usage_chunk_body(chat, {1, 2})["choices"], json::array());
}

TEST(ServeErrors, ChorusErrorsMapToStatusCodes) {
  EXPECT_EQ(api_error_from(Error(ErrorCode::kInvalidArgument, "bad grammar"), "response_format").status(), 400);
  EXPECT_EQ(api_error_from(Error(ErrorCode::kNotFound, "x")).status(), 404);
  EXPECT_EQ(api_error_from(Error(ErrorCode::kResourceExhausted, "x")).status(), 503);
  EXPECT_EQ(api_error_from(Error(ErrorCode::kInternal, "x")).status(), 500);
  const json body = ApiError(429, "busy", "", "queue_full").body();
  EXPECT_EQ(body, json::parse(R"({"error": {"message": "busy", "type": "rate_limit_error", "param": null, "code": "queue_full"}})"));
}

TEST(ServeAdmission, RefusesPastCapacityAndReleasesOnDestruction) {
  Admission a(2);
  {
    auto t1 = a.try_admit();
    auto t2 = a.try_admit();
    auto t3 = a.try_admit();
    EXPECT_TRUE(t1.admitted());
    EXPECT_TRUE(t2.admitted());
    EXPECT_FALSE(t3.admitted());
    EXPECT_EQ(a.in_flight(), 2);
  }
  EXPECT_EQ(a.in_flight(), 0);
  EXPECT_TRUE(a.try_admit().admitted());
}

TEST(ServeMetrics, PrometheusText) {
  ServeCounters c;
  c.count_response("/v1/completions", 200);
  c.count_response("/v1/completions", 200);
  c.count_response("/v1/completions", 429);
  c.count_tokens(10, 4);
  ComposerMetrics m;
  m.tiers = {{"resident", 100, 1000}};
  m.engines = {{"smollm2", EngineLoad{1, 2, 3, 40, 5, 6, 7}}};
  m.pinned = 1;
  const std::string text = prometheus_text(c, {3, 64}, m);
  for (const char* line : {"chorus_http_requests_total{route=\"/v1/completions\",status=\"200\"} 2\n",
                           "chorus_http_requests_total{route=\"/v1/completions\",status=\"429\"} 1\n",
                           "chorus_prompt_tokens_total 10\n", "chorus_completion_tokens_total 4\n",
                           "chorus_requests_in_flight 3\n", "chorus_queue_depth{expert=\"smollm2\"} 1\n",
                           "chorus_running_sequences{expert=\"smollm2\"} 2\n", "chorus_kv_blocks_used{expert=\"smollm2\"} 3\n",
                           "chorus_tier_used_bytes{tier=\"resident\"} 100\n", "chorus_pins_held 1\n",
                           "# TYPE chorus_store_hits_total counter\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line;
}

}  // namespace
}  // namespace chorus::serve
