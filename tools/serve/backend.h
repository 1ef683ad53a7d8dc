// What the HTTP layer needs from the models behind it. The server runs on a
// chorus::Composer (composer_backend.h); tests put a scripted fake in its place
// to reach every HTTP path without a model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chorus/composer.h"
#include "tools/serve/request.h"

namespace chorus::serve {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::vector<std::string> experts() const = 0;
  // The request's prompt as the expert would read it: its length in tokens, and
  // the positions the expert serves per sequence. Throw chorus::Error.
  virtual int32_t prompt_tokens(const std::string& expert, const CompletionRequest& request) const = 0;
  virtual int32_t context(const std::string& expert) const = 0;
  // request.messages (chat) or request.prompt, with `params` (the request's, plus callbacks).
  virtual GenerateResult generate(const std::string& expert, const CompletionRequest& request,
                                  const GenerateParams& params) = 0;
  virtual AskResult ask(const std::string& question, const AskParams& params) = 0;
  virtual ComposerMetrics metrics() const = 0;
};

}  // namespace chorus::serve
