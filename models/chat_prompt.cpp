#include "models/chat_prompt.h"

namespace chorus::models {

std::vector<int32_t> encode_chat(const Tokenizer& tokenizer, const ChatTemplate& chat,
                                 const std::vector<ChatMessage>& messages, bool add_bos,
                                 bool special_tokens_in_messages) {
  const RenderedChat rendered = render_chat_marked(chat, messages);
  if (special_tokens_in_messages) return tokenizer.encode(rendered.text, add_bos, /*parse_special=*/true);
  return tokenizer.encode_with_special_ranges(rendered.text, add_bos, rendered.markup);
}

}  // namespace chorus::models
