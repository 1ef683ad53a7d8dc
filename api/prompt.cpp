#include "api/prompt.h"

#include <algorithm>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/chat_prompt.h"

namespace chorus::api {

std::vector<int32_t> chat_prompt_tokens(const runtime::LoadedModel& m, const std::vector<ChatMessage>& messages,
                                        bool parse_special) {
  std::vector<models::ChatMessage> msgs;
  for (const ChatMessage& c : messages) {
    if (c.role != "system" && c.role != "user" && c.role != "assistant")
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("message role '{}' is not one of system, user, assistant", c.role));
    msgs.push_back({c.role, c.content});
  }
  if (msgs.empty()) throw Error(ErrorCode::kInvalidArgument, "a conversation needs at least one message");
  return models::encode_chat(*m.tokenizer, m.chat, msgs, false, parse_special);
}

PreparedPrompt prepare_prompt(const runtime::LoadedModel& m, const std::string& prompt, const GenerateParams& params,
                              int32_t context, const std::string& name) {
  if (!params.chat) {
    std::vector<int32_t> ids = m.tokenizer->encode(prompt, m.add_bos, params.special_in_prompt);
    const bool bos = m.add_bos && m.tokenizer->bos_id() >= 0 && !ids.empty() && ids.front() == m.tokenizer->bos_id();
    return fit_prompt(std::move(ids), params, context, name, bos);
  }
  std::vector<ChatMessage> messages;
  if (!params.system.empty()) messages.push_back({"system", params.system});
  messages.push_back({"user", prompt});
  return fit_prompt(chat_prompt_tokens(m, messages, params.special_in_prompt), params, context, name, false);
}

PreparedPrompt fit_prompt(std::vector<int32_t> ids, const GenerateParams& params,
                          int32_t context, const std::string& name, bool starts_with_bos) {
  if (ids.empty())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("the prompt is empty and {} starts no text with BOS: give a prompt", name));
  const int64_t room = std::max<int64_t>(context / 2, int64_t{context} - params.max_tokens);  // what truncation keeps
  const auto n = static_cast<int64_t>(ids.size());
  PreparedPrompt p;
  if (n < context && (!params.truncate_prompt || n <= room)) {
    p.tokens = std::move(ids);
    return p;
  }
  if (!params.truncate_prompt)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("the prompt has {} tokens, but {}'s context holds {} positions for prompt and answer "
                            "together: shorten it, or truncate it (--truncate-prompt; truncate_prompt in the API) "
                            "to keep its last {} tokens",
                            n, name, context, room));
  const int64_t keep_bos = starts_with_bos ? 1 : 0;
  ids.erase(ids.begin() + keep_bos, ids.end() - (room - keep_bos));
  p.tokens = std::move(ids);
  p.dropped_tokens = static_cast<int32_t>(n - room);
  return p;
}

void check_token_ids(std::span<const int32_t> tokens, int32_t vocab_size) {
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab_size)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("token {} is outside the vocabulary (0 to {})", t, vocab_size - 1));
}

}  // namespace chorus::api
