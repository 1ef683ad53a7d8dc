#include "models/chat_template.h"

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

// The literal system text a ChatML template emits when the conversation has none:
// "<|im_start|>system\n...<|im_end|>" inside a Jinja string.
std::string embedded_default_system(const std::string& jinja) {
  const std::string open = "<|im_start|>system\n";
  size_t a = jinja.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = jinja.find("<|im_end|>", a);
  if (b == std::string::npos) return "";
  std::string s = jinja.substr(a, b - a);
  // A Jinja expression (e.g. "{{ message['content'] }}") is not a literal default.
  return s.find("{{") == std::string::npos && s.find("{%") == std::string::npos ? s : "";
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

std::string render_chat(const ChatTemplate& t, const std::vector<ChatMessage>& messages) {
  std::string out;
  std::vector<ChatMessage> msgs = messages;
  if (!t.default_system.empty() && (msgs.empty() || msgs.front().role != "system"))
    msgs.insert(msgs.begin(), {"system", t.default_system});
  switch (t.format) {
    case ChatFormat::kChatML:
      for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kLlama3:
      out += "<|begin_of_text|>";
      for (const auto& m : msgs) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kGemma: {
      // Gemma has no system role: the system text is prepended to the first user turn.
      std::string pending;
      for (const auto& m : msgs) {
        if (m.role == "system") { pending = m.content + "\n\n"; continue; }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n" + pending + m.content + "<end_of_turn>\n";
        pending.clear();
      }
      out += "<start_of_turn>model\n";
      break;
    }
    case ChatFormat::kLlama2: {
      std::string system;
      for (const auto& m : msgs) {
        if (m.role == "system") { system = "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n"; continue; }
        if (m.role == "user") { out += "[INST] " + system + m.content + " [/INST]"; system.clear(); }
        else out += " " + m.content + " </s><s>";
      }
      break;
    }
    case ChatFormat::kZephyr:
      for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
      out += "<|assistant|>\n";
      break;
  }
  return out;
}

}  // namespace chorus::models
