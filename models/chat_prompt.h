// A chat conversation as prompt tokens: the template's markup may hold control
// tokens; the messages' text never does, unless the caller opts in
// (`--special-in-user`), as llama.cpp's --special does.
#pragma once

#include <cstdint>
#include <vector>

#include "models/chat_template.h"
#include "models/tokenizer.h"

namespace chorus::models {

std::vector<int32_t> encode_chat(const Tokenizer& tokenizer, const ChatTemplate& chat,
                                 const std::vector<ChatMessage>& messages, bool add_bos,
                                 bool special_tokens_in_messages = false);

}  // namespace chorus::models
