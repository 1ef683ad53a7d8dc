#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "chorus/error.h"
#include "runtime/engine.h"

namespace chorus::runtime {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

// A batch of one on the engine: the first step prefills the whole prompt, every
// later step decodes one token.
GenerationResult generate(LoadedModel& m, const std::vector<int32_t>& prompt, int32_t max_tokens,
                          const SamplingParams& sampling, const TokenCallback& on_token,
                          std::shared_ptr<const Grammar> grammar, int32_t logprobs) {
  const models::LlamaConfig& c = m.file.config;
  if (max_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "generate: max_tokens must be >= 0");
  EngineOptions opt;
  opt.max_running = 1;
  opt.kernels = m.model->kernel_config();
  opt.max_context = static_cast<int32_t>(std::min<int64_t>(c.context_length, prompt.size() + max_tokens));
  opt.max_step_tokens = std::max<int32_t>(1, static_cast<int32_t>(prompt.size()));
  Engine engine(c, *m.tokenizer, opt);
  Request req{prompt, max_tokens, sampling, {}, std::move(grammar)};
  req.logprobs = logprobs;
  if (on_token) req.on_token = [&](RequestId, int32_t token, const std::string& piece) { on_token(token, piece); };
  const RequestId id = engine.submit(std::move(req));

  GenerationResult res;
  res.prompt_tokens = static_cast<int32_t>(prompt.size());
  auto t0 = std::chrono::steady_clock::now();
  if (engine.step(m.weights)) res.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  engine.run_until_idle(m.weights);
  res.decode_seconds = seconds_since(t0);
  const RequestResult& r = engine.result(id);
  if (r.state == RequestState::kFailed) throw Error(ErrorCode::kResourceExhausted, "generate: " + r.stop_reason);
  res.tokens = r.tokens;
  res.text = r.text;
  res.stop_reason = r.stop_reason;
  res.logprobs = r.logprobs;
  res.grammar_masks = engine.stats().grammar_masks;
  res.grammar_mask_seconds = engine.stats().grammar_mask_seconds;
  return res;
}

}  // namespace chorus::runtime
