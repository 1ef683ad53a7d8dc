#include "tools/serve/request.h"

#include <algorithm>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "tools/serve/api_error.h"
#include "tools/serve/json_schema_grammar.h"

namespace chorus::serve {

namespace {

using json = nlohmann::ordered_json;  // a schema's properties in the order written

constexpr size_t kMaxStopStrings = 4;  // OpenAI's limit
constexpr int kMaxBodyDepth = 64;

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

const std::string& need_string(const json& v, const std::string& param) {
  if (!v.is_string()) bad(param, fmt::format("'{}' must be a string", param));
  return v.get_ref<const std::string&>();
}

int64_t need_integer(const json& v, const std::string& param, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) bad(param, fmt::format("'{}' must be an integer", param));
  const bool too_big = v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi) : v.get<int64_t>() > hi;
  if (too_big) bad(param, fmt::format("'{}' must be at most {}", param, hi));
  const int64_t n = v.get<int64_t>();
  if (n < lo) bad(param, fmt::format("'{}' must be at least {}", param, lo));
  return n;
}

float need_number(const json& v, const std::string& param, double lo, double hi) {
  if (!v.is_number()) bad(param, fmt::format("'{}' must be a number", param));
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) bad(param, fmt::format("'{}' must be between {} and {}", param, lo, hi));
  return static_cast<float>(x);
}

bool need_bool(const json& v, const std::string& param) {
  if (!v.is_boolean()) bad(param, fmt::format("'{}' must be a boolean", param));
  return v.get<bool>();
}

void for_each_field(const json& object, const std::string& where, const std::vector<std::string>& allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const auto& a : allowed) known = known || a == key;
    if (!known) bad(where.empty() ? key : where + "." + key, fmt::format("unrecognized request argument supplied: {}{}", where.empty() ? "" : where + ".", key));
  }
}

// A message's content: a string, or OpenAI's array of {"type": "text", "text": ...} parts.
std::string message_content(const json& v, const std::string& param) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad(param, fmt::format("'{}' must be a string or an array of text parts", param));
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string part = fmt::format("{}[{}]", param, i);
    if (!v[i].is_object()) bad(part, fmt::format("'{}' must be an object", part));
    for_each_field(v[i], part, {"type", "text"});
    if (!v[i].contains("type") || need_string(v[i]["type"], part + ".type") != "text")
      bad(part + ".type", fmt::format("'{}.type' must be \"text\" (chorus reads text only)", part));
    if (!v[i].contains("text")) bad(part + ".text", fmt::format("'{}.text' is required", part));
    text += need_string(v[i]["text"], part + ".text");
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const json& v) {
  if (!v.is_array() || v.empty()) bad("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = fmt::format("messages[{}]", i);
    if (!v[i].is_object()) bad(at, fmt::format("'{}' must be an object", at));
    for_each_field(v[i], at, {"role", "content", "name"});
    if (!v[i].contains("role")) bad(at + ".role", fmt::format("'{}.role' is required", at));
    std::string role = need_string(v[i]["role"], at + ".role");
    if (role == "developer") role = "system";  // OpenAI's newer name for the system turn
    if (role != "system" && role != "user" && role != "assistant")
      bad(at + ".role", fmt::format("'{}.role' must be \"system\", \"user\" or \"assistant\", not \"{}\"", at, role));
    if (!v[i].contains("content")) bad(at + ".content", fmt::format("'{}.content' is required", at));
    if (v[i].contains("name")) need_string(v[i]["name"], at + ".name");
    messages.push_back({role, message_content(v[i]["content"], at + ".content")});
  }
  return messages;
}

std::vector<std::string> parse_stop(const json& v) {
  std::vector<std::string> stop;
  if (v.is_null()) return stop;
  if (v.is_string()) {
    stop.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > kMaxStopStrings) bad("stop", fmt::format("'stop' may hold at most {} strings", kMaxStopStrings));
    for (size_t i = 0; i < v.size(); ++i) stop.push_back(need_string(v[i], fmt::format("stop[{}]", i)));
  } else {
    bad("stop", "'stop' must be a string or an array of strings");
  }
  for (const auto& s : stop)
    if (s.empty()) bad("stop", "a stop string must not be empty");
  return stop;
}

// "text" (no constraint), "json_object", "json_schema" or the chorus extension "gbnf" → GBNF text.
std::string parse_response_format(const json& v) {
  if (!v.is_object()) bad("response_format", "'response_format' must be an object");
  if (!v.contains("type")) bad("response_format.type", "'response_format.type' is required");
  const std::string type = need_string(v["type"], "response_format.type");
  if (type == "text") {
    for_each_field(v, "response_format", {"type"});
    return "";
  }
  if (type == "json_object") {
    for_each_field(v, "response_format", {"type"});
    return json_schema_to_gbnf(json{{"type", "object"}});
  }
  if (type == "json_schema") {
    for_each_field(v, "response_format", {"type", "json_schema"});
    if (!v.contains("json_schema") || !v["json_schema"].is_object())
      bad("response_format.json_schema", "'response_format.json_schema' must be an object");
    const json& s = v["json_schema"];
    for_each_field(s, "response_format.json_schema", {"name", "schema", "strict", "description"});
    if (s.contains("name")) need_string(s["name"], "response_format.json_schema.name");
    if (s.contains("strict")) need_bool(s["strict"], "response_format.json_schema.strict");
    if (s.contains("description")) need_string(s["description"], "response_format.json_schema.description");
    if (!s.contains("schema")) bad("response_format.json_schema.schema", "'response_format.json_schema.schema' is required");
    return json_schema_to_gbnf(s["schema"]);
  }
  if (type == "gbnf") {
    for_each_field(v, "response_format", {"type", "grammar"});
    if (!v.contains("grammar")) bad("response_format.grammar", "'response_format.grammar' is required with type \"gbnf\"");
    const std::string& grammar = need_string(v["grammar"], "response_format.grammar");
    if (grammar.empty()) bad("response_format.grammar", "'response_format.grammar' must not be empty");
    return grammar;
  }
  bad("response_format.type",
      fmt::format("'response_format.type' must be \"text\", \"json_object\", \"json_schema\" or \"gbnf\" (a chorus extension), not \"{}\"", type));
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, bool chat) {
  // Copying, writing or converting a value recurses once per level: bound the nesting before anything does.
  const auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxBodyDepth)
      throw ApiError(400, fmt::format("the request body is nested deeper than {} levels", kMaxBodyDepth), "", "invalid_json");
    return true;
  };
  json j = json::parse(body, limit_depth, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
  std::vector<std::string> fields = {chat ? "messages" : "prompt", "model", "max_tokens", "max_completion_tokens",
                                     "temperature", "top_p", "seed", "stop", "stream", "stream_options",
                                     "response_format", "n", "user", "logprobs"};
  if (chat) fields.push_back("top_logprobs");
  for_each_field(j, "", fields);

  CompletionRequest r;
  r.chat = chat;
  if (!j.contains("model")) bad("model", "'model' is required");
  r.model = need_string(j["model"], "model");
  if (chat) {
    if (!j.contains("messages")) bad("messages", "'messages' is required");
    r.messages = parse_messages(j["messages"]);
  } else {
    if (!j.contains("prompt")) bad("prompt", "'prompt' is required");
    const json& p = j["prompt"];
    if (p.is_array() && p.size() == 1 && p[0].is_string()) r.prompt = p[0].get<std::string>();
    else if (p.is_string()) r.prompt = p.get<std::string>();
    else bad("prompt", "'prompt' must be a string (or an array of one string)");
  }

  // OpenAI's sampling: temperature and nucleus only (no top-k, no min-p); its defaults.
  GenerateParams& g = r.params;
  g.top_k = 0;
  g.min_p = 0.0f;
  g.temperature = 1.0f;
  g.top_p = 1.0f;
  g.max_tokens = chat ? 256 : 16;
  g.seed = std::random_device{}();
  auto set = [&](const char* name) -> const json& {
    r.fields.push_back(name);
    return j[name];
  };
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (j.contains(name) && !j[name].is_null()) g.max_tokens = static_cast<int32_t>(need_integer(set(name), name, 1, 1 << 20));
  if (j.contains("temperature") && !j["temperature"].is_null()) g.temperature = need_number(set("temperature"), "temperature", 0, 2);
  if (j.contains("top_p") && !j["top_p"].is_null()) {
    g.top_p = need_number(set("top_p"), "top_p", 0, 1);
    if (g.top_p <= 0.0f) bad("top_p", "'top_p' must be greater than 0");
  }
  if (j.contains("seed") && !j["seed"].is_null())
    g.seed = static_cast<uint64_t>(need_integer(set("seed"), "seed", 0, std::numeric_limits<int64_t>::max()));
  if (j.contains("stop")) {
    if (!j["stop"].is_null()) r.fields.push_back("stop");
    g.stop = parse_stop(j["stop"]);
  }
  if (j.contains("n") && !j["n"].is_null() && need_integer(j["n"], "n", 1, 1 << 20) != 1)
    bad("n", "'n' must be 1: chorus returns one choice per request");
  if (j.contains("user")) need_string(j["user"], "user");
  if (j.contains("response_format") && !j["response_format"].is_null()) {
    g.grammar = parse_response_format(set("response_format"));
  }
  // OpenAI's limits: 20 alternatives for chat, 5 for the legacy completions.
  if (chat) {
    const bool wanted = j.contains("logprobs") && !j["logprobs"].is_null() && need_bool(j["logprobs"], "logprobs");
    if (j.contains("top_logprobs") && !j["top_logprobs"].is_null()) {
      if (!wanted) bad("top_logprobs", "'top_logprobs' needs \"logprobs\": true");
      r.top_logprobs = static_cast<int32_t>(need_integer(j["top_logprobs"], "top_logprobs", 0, 20));
    } else if (wanted) {
      r.top_logprobs = 0;
    }
  } else if (j.contains("logprobs") && !j["logprobs"].is_null()) {
    r.top_logprobs = static_cast<int32_t>(need_integer(j["logprobs"], "logprobs", 0, 5));
  }
  if (r.top_logprobs >= 0) {
    r.fields.push_back("logprobs");
    g.logprobs = std::max(r.top_logprobs, 1);  // the engine gives a token's own log-probability with its alternatives
  }
  if (j.contains("stream") && !j["stream"].is_null()) r.stream = need_bool(j["stream"], "stream");
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    const json& o = j["stream_options"];
    if (!r.stream) bad("stream_options", "'stream_options' is only allowed with \"stream\": true");
    if (!o.is_object()) bad("stream_options", "'stream_options' must be an object");
    for_each_field(o, "stream_options", {"include_usage"});
    if (o.contains("include_usage")) r.include_usage = need_bool(o["include_usage"], "stream_options.include_usage");
  }
  return r;
}

}  // namespace chorus::serve
