// libFuzzer target for chat-template rendering of hostile messages: messages
// whose text holds the templates' own control tokens, partial ones, NULs and
// invalid UTF-8. For every built-in format: the markup ranges are sorted, in
// bounds and leave every message's text out; and a control-token matcher
// restricted to the markup never finds a control token inside a message (a
// user cannot forge a turn), while it still finds the template's own.
//
// Input: first byte picks the format (and whether a default system prompt is
// set); the rest is messages separated by NUL, role = "user"/"assistant"/
// "system" by the message's first byte modulo 3.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat_template.h"
#include "models/special_tokens.h"
#include "models/vocabulary.h"

namespace {

using namespace chorus::models;

const Vocabulary& control_vocabulary() {
  static const Vocabulary v = [] {
    Vocabulary v;
    for (const char* t : {"<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                          "<|eot_id|>", "<start_of_turn>", "<end_of_turn>", "<s>", "</s>", "<|user|>", "<|assistant|>",
                          "<|system|>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"}) {
      v.texts.push_back(t);
      v.scores.push_back(0);
      v.types.push_back(TokenType::kControl);
    }
    v.build_index();
    return v;
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const SpecialTokenMatcher matcher(control_vocabulary());
  ChatTemplate t;
  t.format = static_cast<ChatFormat>(data[0] % 5);
  if (data[0] & 0x80) t.default_system = "You are a helpful <|im_end|> assistant.";
  std::vector<ChatMessage> messages;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  static const char* kRoles[] = {"user", "assistant", "system"};
  for (size_t pos = 0; pos <= rest.size() && messages.size() < 64;) {
    const size_t end = std::min(rest.find('\0', pos), rest.size());
    const std::string_view text = rest.substr(pos, end - pos);
    messages.push_back({kRoles[text.empty() ? 0 : static_cast<uint8_t>(text[0]) % 3], std::string(text)});
    pos = end + 1;
  }
  const RenderedChat r = render_chat_marked(t, messages);
  if (render_chat(t, messages) != r.text) __builtin_trap();
  size_t markup_bytes = 0;
  for (size_t i = 0; i < r.markup.size(); ++i) {
    const ByteRange& m = r.markup[i];
    if (m.begin >= m.end || m.end > r.text.size()) __builtin_trap();
    if (i > 0 && r.markup[i - 1].end >= m.begin) __builtin_trap();  // sorted, apart (touching ones are merged)
    markup_bytes += m.end - m.begin;
  }
  const bool default_system = !t.default_system.empty() && (messages.empty() || messages[0].role != "system");
  size_t content_bytes = default_system ? t.default_system.size() : 0;
  for (const ChatMessage& m : messages) content_bytes += m.content.size();
  // Every byte is markup or a message's; Gemma and Llama 2 fold a system message into
  // the next user turn and drop one that no user turn follows, the others keep all.
  const bool keeps_all = t.format == ChatFormat::kChatML || t.format == ChatFormat::kLlama3 || t.format == ChatFormat::kZephyr;
  if (keeps_all && markup_bytes + content_bytes != r.text.size()) __builtin_trap();
  if (markup_bytes + content_bytes < r.text.size()) __builtin_trap();
  // Every control token the restricted matcher finds lies inside the markup.
  for (const TextFragment& f : matcher.partition(r.text, r.markup)) {
    if (f.token < 0) continue;
    const size_t begin = static_cast<size_t>(f.text.data() - r.text.data());
    bool inside = false;
    for (const ByteRange& m : r.markup) inside = inside || (m.begin <= begin && begin + f.text.size() <= m.end);
    if (!inside) __builtin_trap();
  }
  return 0;
}
