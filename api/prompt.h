// Prompt text to the ids a request runs: the chat template or BOS, then the
// context check (refuse, or keep the last tokens on request). Shared by
// chorus::Model and chorus::Composer.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "chorus/model.h"
#include "runtime/loaded_model.h"

namespace chorus::api {

// A conversation through the model's chat template, the assistant's turn opened.
std::vector<int32_t> chat_prompt_tokens(const runtime::LoadedModel& m, const std::vector<ChatMessage>& messages,
                                        bool parse_special);

// `prompt` as params.chat / system / special_in_prompt say; `context` is the
// positions a sequence may hold; `name` names the model in errors.
PreparedPrompt prepare_prompt(const runtime::LoadedModel& m, const std::string& prompt, const GenerateParams& params,
                              int32_t context, const std::string& name);

// The same check for ids already made (from a conversation or the caller).
PreparedPrompt fit_prompt(std::vector<int32_t> ids, const GenerateParams& params,
                          int32_t context, const std::string& name, bool starts_with_bos);

// Throws kInvalidArgument for an id outside [0, vocab_size).
void check_token_ids(std::span<const int32_t> tokens, int32_t vocab_size);

}  // namespace chorus::api
