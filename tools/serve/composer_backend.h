// The server's models: a chorus::Composer (public API only).
#pragma once

#include "chorus/composer.h"
#include "tools/serve/backend.h"

namespace chorus::serve {

class ComposerBackend : public Backend {
 public:
  explicit ComposerBackend(Composer& composer) : composer_(composer) {}
  std::vector<std::string> experts() const override;
  int32_t prompt_tokens(const std::string& expert, const CompletionRequest& request) const override;
  int32_t context(const std::string& expert) const override;
  GenerateResult generate(const std::string& expert, const CompletionRequest& request, const GenerateParams& params) override;
  AskResult ask(const std::string& question, const AskParams& params) override;
  ComposerMetrics metrics() const override;

 private:
  Composer& composer_;
};

}  // namespace chorus::serve
