// The OpenAI response objects: a whole completion (chat.completion,
// text_completion) and a streamed chunk of one (chat.completion.chunk).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chorus/model.h"

#include <nlohmann/json.hpp>

namespace chorus::serve {

struct ResponseMeta {
  std::string id;        // "chatcmpl-..." or "cmpl-..."
  std::string model;
  int64_t created = 0;   // Unix seconds
  bool chat = false;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// A new response's id and creation time.
ResponseMeta new_response_meta(const std::string& model, bool chat);

// chorus's finish reasons as OpenAI's: "eos"/"stop"/"grammar" → "stop",
// "max_tokens"/"context" → "length"; "cancelled" stays.
std::string openai_finish_reason(const std::string& chorus_reason);

// One generated token as a response reports its log-probability: its text,
// and its most likely alternatives (most likely first).
struct TokenLogprobs {
  std::string piece;
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;
};

// The choice's "logprobs" object for these tokens. Chat: {"content": [{token,
// logprob, bytes, top_logprobs}], "refusal": null}. Completions: {tokens,
// token_logprobs, top_logprobs (piece → logprob), text_offset}, the offsets
// counted in bytes from `text_offset` (where these tokens' text begins).
nlohmann::json logprobs_json(bool chat, const std::vector<TokenLogprobs>& tokens, size_t text_offset = 0);

nlohmann::json usage_json(const Usage& usage);
// `logprobs`: the choice's "logprobs" (null when not asked for).
nlohmann::json completion_body(const ResponseMeta& meta, const std::string& text, const std::string& finish_reason,
                               const Usage& usage, nlohmann::json logprobs = nullptr);
// A chunk carrying `text` (chat: with role "assistant" when `first`), or the
// last chunk when `finish_reason` is set.
nlohmann::json chunk_body(const ResponseMeta& meta, const std::string& text, bool first,
                          const std::optional<std::string>& finish_reason, nlohmann::json logprobs = nullptr);
// The closing chunk of stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk_body(const ResponseMeta& meta, const Usage& usage);

}  // namespace chorus::serve
