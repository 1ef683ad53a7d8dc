// Built-in chat templates. A model's Jinja template (tokenizer.chat_template)
// is recognised by its markers and rendered by the matching built-in renderer;
// chorus does not run Jinja.
#pragma once

#include <string>
#include <vector>

#include "models/byte_range.h"

namespace chorus::models {

enum class ChatFormat { kChatML, kLlama2, kLlama3, kGemma, kZephyr };

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatTemplate {
  ChatFormat format = ChatFormat::kChatML;
  // A system prompt the model's own template inserts when none is given
  // (SmolLM2's ChatML template does this).
  std::string default_system;
};

const char* chat_format_name(ChatFormat f);
// Recognises a Jinja template text; an empty or unknown template gives ChatML.
ChatTemplate detect_chat_template(const std::string& jinja);
// The rendered conversation, and the byte ranges of it that the template
// wrote (its markup: "<|im_start|>user\n", "<|im_end|>\n"...). Every other byte
// is a message's content: text from a user, in which special tokens written
// out are not control tokens (a user must not be able to forge a turn).
struct RenderedChat {
  std::string text;
  std::vector<ByteRange> markup;  // sorted, not overlapping
};

// Renders the messages and opens the assistant's turn.
RenderedChat render_chat_marked(const ChatTemplate& t, const std::vector<ChatMessage>& messages);
// The same, text only.
std::string render_chat(const ChatTemplate& t, const std::vector<ChatMessage>& messages);

}  // namespace chorus::models
