// Which built-in chat format and default system prompt a model's Jinja template gives.
#include <gtest/gtest.h>

#include "models/chat_template.h"

namespace {

using chorus::models::ChatFormat;
using chorus::models::detect_chat_template;

TEST(ChatTemplate, DefaultSystemWrittenWithARealNewline) {
  const auto t = detect_chat_template(
      "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM"
      "<|im_end|>\n' }}{% endif %}{% for message in messages %}...{% endfor %}");
  EXPECT_EQ(t.format, ChatFormat::kChatML);
  EXPECT_EQ(t.default_system, "You are a helpful AI assistant named SmolLM");
}

// Qwen2.5's template: the tools branch opens the system turn with the content as an
// expression; the literal default comes later, its newline as the escape \n.
TEST(ChatTemplate, DefaultSystemAfterAnExpressionAndWithAnEscapedNewline) {
  const auto t = detect_chat_template(
      "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
      "        {{- messages[0]['content'] }}\n    {%- endif %}{{- '<|im_end|>\\n' }}\n{%- else %}\n"
      "    {%- if messages[0]['role'] == 'system' %}\n"
      "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
      "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
      "<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}");
  EXPECT_EQ(t.format, ChatFormat::kChatML);
  EXPECT_EQ(t.default_system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
}

TEST(ChatTemplate, DefaultSystemMayHoldAnApostrophe) {
  const auto t = detect_chat_template(
      "{% if messages[0]['role'] != 'system' %}{{ \"<|im_start|>system\\nYou're a careful assistant.<|im_end|>\\n\" }}"
      "{% endif %}");
  EXPECT_EQ(t.default_system, "You're a careful assistant.");
}

TEST(ChatTemplate, NoLiteralDefaultMeansNone) {
  const auto t = detect_chat_template(
      "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
      "{{ '<|im_start|>system\\n' + x + '<|im_end|>' }}");
  EXPECT_EQ(t.format, ChatFormat::kChatML);
  EXPECT_EQ(t.default_system, "");
}

}  // namespace
