#include "tools/serve/composer_backend.h"

namespace chorus::serve {

std::vector<std::string> ComposerBackend::experts() const {
  std::vector<std::string> names;
  for (const ExpertInfo& e : composer_.experts()) names.push_back(e.name);
  return names;
}

int32_t ComposerBackend::prompt_tokens(const std::string& expert, const CompletionRequest& r) const {
  const auto ids = r.chat ? composer_.chat_tokens(expert, r.messages) : composer_.tokenize(expert, r.prompt);
  return static_cast<int32_t>(ids.size());
}

int32_t ComposerBackend::context(const std::string& expert) const { return composer_.expert_info(expert).context; }

GenerateResult ComposerBackend::generate(const std::string& expert, const CompletionRequest& r, const GenerateParams& params) {
  return r.chat ? composer_.generate(expert, r.messages, params) : composer_.generate(expert, r.prompt, params);
}

AskResult ComposerBackend::ask(const std::string& question, const AskParams& params) { return composer_.ask(question, params); }

ComposerMetrics ComposerBackend::metrics() const { return composer_.metrics(); }

}  // namespace chorus::serve
