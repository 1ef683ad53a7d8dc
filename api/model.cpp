// chorus::Model: a loaded model file and one served engine for all callers.
#include "chorus/model.h"

#include <filesystem>

#include <fmt/format.h>

#include "api/generation.h"
#include "api/model_info.h"
#include "api/model_options.h"
#include "api/prompt.h"
#include "api/served_engine.h"
#include "chorus/error.h"
#include "runtime/loaded_model.h"

namespace chorus {

struct Model::Impl {
  std::string path;
  api::RuntimeSettings settings;
  runtime::LoadedModel m;
  runtime::EngineOptions engine_options;
  std::unique_ptr<api::ServedEngine> engine;  // after m: it refers to m's config and tokenizer
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::open(const std::string& path, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->settings = api::resolve_settings(options.threads, options.kernel_path, options.activations, options.dtype);
  impl->m = runtime::load_model(path, options.tokenizer, impl->settings.dtype, impl->settings.kernels);
  impl->engine_options =
      api::engine_options(impl->m.file.config, options.context, options.max_running, options.kv_budget_bytes);
  impl->engine_options.kernels = impl->settings.kernels;
  const models::LlamaWeights* weights = &impl->m.weights;
  impl->engine = std::make_unique<api::ServedEngine>(
      impl->m.file.config, *impl->m.tokenizer, impl->engine_options,
      [weights] { return api::WeightsLease{weights, nullptr}; }, impl->settings.threads);
  return Model(std::move(impl));
}

GenerateResult Model::generate(const std::string& prompt, const GenerateParams& params) {
  PreparedPrompt p = prepare_prompt(prompt, params);
  return api::run_generation(*impl_->engine, std::move(p.tokens), params, p.dropped_tokens);
}

GenerateResult Model::generate(const std::vector<ChatMessage>& messages, const GenerateParams& params) {
  PreparedPrompt p = api::fit_prompt(chat_tokens(messages, params.special_in_prompt), params,
                                     impl_->engine_options.max_context, impl_->path, false);
  return api::run_generation(*impl_->engine, std::move(p.tokens), params, p.dropped_tokens);
}

GenerateResult Model::generate_tokens(const std::vector<int32_t>& prompt, const GenerateParams& params) {
  return api::run_generation(*impl_->engine, prompt, params);
}

PreparedPrompt Model::prepare_prompt(const std::string& prompt, const GenerateParams& params) const {
  return api::prepare_prompt(impl_->m, prompt, params, impl_->engine_options.max_context, impl_->path);
}

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->m.tokenizer->encode(text, add_bos && impl_->m.add_bos, parse_special);
}

std::string Model::detokenize(std::span<const int32_t> tokens) const {
  api::check_token_ids(tokens, impl_->m.tokenizer->vocab_size());
  return impl_->m.tokenizer->decode(tokens);
}

std::string Model::token_piece(int32_t token) const {
  api::check_token_ids(std::span(&token, 1), impl_->m.tokenizer->vocab_size());
  return impl_->m.tokenizer->token_to_piece(token);
}

std::vector<int32_t> Model::chat_tokens(const std::vector<ChatMessage>& messages, bool parse_special) const {
  return api::chat_prompt_tokens(impl_->m, messages, parse_special);
}

ModelInfo Model::info() const {
  return api::model_info(impl_->m, impl_->path, impl_->engine_options.max_context, impl_->settings,
                         impl_->engine_options.kernels);
}

EngineLoad Model::load() const { return impl_->engine->load(); }

}  // namespace chorus
