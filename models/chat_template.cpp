#include "models/chat_template.h"

#include <optional>

namespace chorus::models {

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kChatML: return "chatml";
    case ChatFormat::kLlama2: return "llama2";
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kGemma: return "gemma";
    case ChatFormat::kZephyr: return "zephyr";
  }
  return "chatml";
}

namespace {

// Whether a span of Jinja source holds a string's end and a '+': a quote with a
// '+' beside it (spaces between). An apostrophe inside the text has none.
bool concatenates(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\'' && s[i] != '"') continue;
    size_t before = i, after = i + 1;
    while (before > 0 && s[before - 1] == ' ') --before;
    while (after < s.size() && s[after] == ' ') ++after;
    if ((before > 0 && s[before - 1] == '+') || (after < s.size() && s[after] == '+')) return true;
  }
  return false;
}

// The literal system text a ChatML template emits when the conversation has none:
// "<|im_start|>system\n...<|im_end|>" inside a Jinja string, its newline written as
// a newline or as the escape \n. The first such span without Jinja in it: Qwen2.5's
// template opens the system turn in its tools branch first, with the content as an
// expression, and writes the literal default later.
std::string embedded_default_system(const std::string& jinja) {
  for (const std::string open : {"<|im_start|>system\n", "<|im_start|>system\\n"}) {
    for (size_t a = jinja.find(open); a != std::string::npos; a = jinja.find(open, a)) {
      a += open.size();
      const size_t b = jinja.find("<|im_end|>", a);
      if (b == std::string::npos) break;
      std::string s = jinja.substr(a, b - a);
      // A Jinja statement or expression ("{{ message['content'] }}"), or a string
      // concatenated with one ("'\n' + messages[0]['content'] + '"), is not a literal default.
      if (s.find("{{") == std::string::npos && s.find("{%") == std::string::npos && !concatenates(s)) return s;
    }
  }
  return "";
}

}  // namespace

ChatTemplate detect_chat_template(const std::string& jinja) {
  ChatTemplate t;
  if (jinja.find("<|start_header_id|>") != std::string::npos) {
    t.format = ChatFormat::kLlama3;
  } else if (jinja.find("<start_of_turn>") != std::string::npos) {
    t.format = ChatFormat::kGemma;
  } else if (jinja.find("[INST]") != std::string::npos) {
    t.format = ChatFormat::kLlama2;
  } else if (jinja.find("<|user|>") != std::string::npos) {
    t.format = ChatFormat::kZephyr;
  } else {
    t.format = ChatFormat::kChatML;
    t.default_system = embedded_default_system(jinja);
  }
  return t;
}

namespace {

// The rendered text, and which of its bytes the template wrote.
class ChatWriter {
 public:
  void markup(const std::string& s) {
    if (s.empty()) return;
    if (!out_.markup.empty() && out_.markup.back().end == out_.text.size()) out_.markup.back().end += s.size();
    else out_.markup.push_back({out_.text.size(), out_.text.size() + s.size()});
    out_.text += s;
  }
  void content(const std::string& s) { out_.text += s; }
  RenderedChat take() { return std::move(out_); }

 private:
  RenderedChat out_;
};

}  // namespace

RenderedChat render_chat_marked(const ChatTemplate& t, const std::vector<ChatMessage>& messages) {
  ChatWriter w;
  std::vector<ChatMessage> msgs = messages;
  if (!t.default_system.empty() && (msgs.empty() || msgs.front().role != "system"))
    msgs.insert(msgs.begin(), {"system", t.default_system});
  switch (t.format) {
    case ChatFormat::kChatML:
      for (const auto& m : msgs) {
        w.markup("<|im_start|>" + m.role + "\n");
        w.content(m.content);
        w.markup("<|im_end|>\n");
      }
      w.markup("<|im_start|>assistant\n");
      break;
    case ChatFormat::kLlama3:
      w.markup("<|begin_of_text|>");
      for (const auto& m : msgs) {
        w.markup("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n");
        w.content(m.content);
        w.markup("<|eot_id|>");
      }
      w.markup("<|start_header_id|>assistant<|end_header_id|>\n\n");
      break;
    case ChatFormat::kGemma: {
      // Gemma has no system role: the system text is prepended to the first user turn.
      std::optional<std::string> pending;
      for (const auto& m : msgs) {
        if (m.role == "system") { pending = m.content; continue; }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        w.markup("<start_of_turn>" + role + "\n");
        if (pending) {
          w.content(*pending);
          w.markup("\n\n");
        }
        w.content(m.content);
        w.markup("<end_of_turn>\n");
        pending.reset();
      }
      w.markup("<start_of_turn>model\n");
      break;
    }
    case ChatFormat::kLlama2: {
      std::optional<std::string> system;
      for (const auto& m : msgs) {
        if (m.role == "system") { system = m.content; continue; }
        if (m.role == "user") {
          w.markup("[INST] ");
          if (system) {
            w.markup("<<SYS>>\n");
            w.content(*system);
            w.markup("\n<</SYS>>\n\n");
          }
          w.content(m.content);
          w.markup(" [/INST]");
          system.reset();
        } else {
          w.markup(" ");
          w.content(m.content);
          w.markup(" </s><s>");
        }
      }
      break;
    }
    case ChatFormat::kZephyr:
      for (const auto& m : msgs) {
        w.markup("<|" + m.role + "|>\n");
        w.content(m.content);
        w.markup("</s>\n");
      }
      w.markup("<|assistant|>\n");
      break;
  }
  return w.take();
}

std::string render_chat(const ChatTemplate& t, const std::vector<ChatMessage>& messages) {
  return render_chat_marked(t, messages).text;
}

}  // namespace chorus::models
