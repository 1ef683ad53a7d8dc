#include "tools/serve/responses.h"

#include <atomic>
#include <chrono>

#include <fmt/format.h>

namespace chorus::serve {

using nlohmann::json;

ResponseMeta new_response_meta(const std::string& model, bool chat) {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  ResponseMeta m;
  m.created = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  m.id = fmt::format("{}-{:x}{:06x}", chat ? "chatcmpl" : "cmpl", m.created, ++counter);
  m.model = model;
  m.chat = chat;
  return m;
}

std::string openai_finish_reason(const std::string& r) {
  if (r == "eos" || r == "stop" || r == "grammar") return "stop";
  if (r == "max_tokens" || r == "context") return "length";
  return r;
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

namespace {

json envelope(const ResponseMeta& m, const char* chat_object, json choice) {
  return {{"id", m.id}, {"object", m.chat ? chat_object : "text_completion"}, {"created", m.created},
          {"model", m.model}, {"choices", json::array({std::move(choice)})}};
}

json bytes_of(const std::string& piece) {
  json bytes = json::array();
  for (const char c : piece) bytes.push_back(static_cast<unsigned char>(c));
  return bytes;
}

}  // namespace

json logprobs_json(bool chat, const std::vector<TokenLogprobs>& tokens, size_t text_offset) {
  if (chat) {
    json content = json::array();
    for (const TokenLogprobs& t : tokens) {
      json top = json::array();
      for (const TokenLogprob& a : t.top)
        top.push_back({{"token", a.piece}, {"logprob", a.logprob}, {"bytes", bytes_of(a.piece)}});
      content.push_back({{"token", t.piece}, {"logprob", t.logprob}, {"bytes", bytes_of(t.piece)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  json pieces = json::array(), logprobs = json::array(), top = json::array(), offsets = json::array();
  for (const TokenLogprobs& t : tokens) {
    pieces.push_back(t.piece);
    logprobs.push_back(t.logprob);
    json alternatives = json::object();
    for (const TokenLogprob& a : t.top) alternatives[a.piece] = a.logprob;
    top.push_back(alternatives);
    offsets.push_back(text_offset);
    text_offset += t.piece.size();
  }
  return {{"tokens", pieces}, {"token_logprobs", logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

json completion_body(const ResponseMeta& m, const std::string& text, const std::string& finish_reason, const Usage& u,
                     json logprobs) {
  json choice = {{"index", 0}, {"finish_reason", finish_reason}, {"logprobs", std::move(logprobs)}};
  if (m.chat) choice["message"] = {{"role", "assistant"}, {"content", text}};
  else choice["text"] = text;
  json body = envelope(m, "chat.completion", std::move(choice));
  body["usage"] = usage_json(u);
  return body;
}

json chunk_body(const ResponseMeta& m, const std::string& text, bool first, const std::optional<std::string>& finish_reason,
                json logprobs) {
  json choice = {{"index", 0}, {"logprobs", std::move(logprobs)},
                 {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
  if (m.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!finish_reason) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  return envelope(m, "chat.completion.chunk", std::move(choice));
}

json usage_chunk_body(const ResponseMeta& m, const Usage& u) {
  json body = envelope(m, "chat.completion.chunk", nullptr);
  body["choices"] = json::array();
  body["usage"] = usage_json(u);
  return body;
}

}  // namespace chorus::serve
