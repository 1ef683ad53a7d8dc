// OpenAI request bodies (/v1/chat/completions, /v1/completions) checked field
// by field: a wrong type, an out-of-range value or an unknown field is an
// ApiError (400) naming the field, before any model runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chorus/model.h"

namespace chorus::serve {

struct CompletionRequest {
  bool chat = false;                       // /v1/chat/completions (messages) or /v1/completions (prompt)
  std::string model;
  std::vector<ChatMessage> messages;       // chat
  std::string prompt;                      // completions
  GenerateParams params;                   // sampling, stop strings, grammar; no callbacks
  bool stream = false;
  bool include_usage = false;              // stream_options.include_usage: a last chunk with the usage
  // -1: no log-probabilities; else each token's and this many alternatives
  // (chat: "logprobs": true with "top_logprobs"; completions: "logprobs": N).
  int32_t top_logprobs = -1;
  std::vector<std::string> fields;         // the sampling fields the client set (chorus refuses them)
};

// `body` is the request's JSON text. Throws ApiError.
CompletionRequest parse_completion_request(const std::string& body, bool chat);

}  // namespace chorus::serve
