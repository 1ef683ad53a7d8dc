#include "api/generation.h"

#include <fmt/format.h>

#include "api/stop_strings.h"
#include "chorus/error.h"
#include "runtime/grammar.h"
#include "runtime/sampler.h"

namespace chorus::api {

namespace {

runtime::SamplingParams sampling_of(const GenerateParams& p) {
  runtime::SamplingParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repetition_penalty = p.repetition_penalty;
  s.repeat_last_n = p.repeat_last_n;
  s.seed = p.seed;
  runtime::validate(s);
  return s;
}

std::vector<TokenLogprob> public_top(const runtime::TokenLogprobs& lp, const models::Tokenizer& tokenizer) {
  std::vector<TokenLogprob> top;
  for (const runtime::TokenLogprob& t : lp.top) top.push_back({t.token, tokenizer.token_to_piece(t.token), t.logprob});
  return top;
}

std::string finish_reason(const StopStrings& stops, const std::string& engine_reason) {
  if (stops.stopped_by_string()) return "stop";
  if (stops.stopped_by_callback()) return "cancelled";
  if (engine_reason == "bos") return "eos";  // llama2.c's models end a story with BOS
  return engine_reason;
}

}  // namespace

GenerateResult run_generation(ServedEngine& engine, std::vector<int32_t> prompt, const GenerateParams& params,
                              int32_t dropped_prompt_tokens) {
  if (params.max_tokens < 0)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("max_tokens {} is negative", params.max_tokens));
  runtime::Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = params.max_tokens;
  request.sampling = sampling_of(params);
  request.logprobs = params.logprobs;
  request.ignore_eos = params.ignore_eos;
  request.observer = params.observer;
  if (!params.grammar.empty())
    request.grammar = std::make_shared<const runtime::Grammar>(runtime::Grammar::parse(params.grammar, params.grammar_name));

  const models::Tokenizer& tokenizer = engine.tokenizer();
  // Tokens reach the caller in the order they came, some held back by the stop strings: the
  // k-th one handed on is the k-th generated, whose log-probabilities are logprobs[k].
  std::vector<runtime::TokenLogprobs> logprobs;
  size_t handed_on = 0;
  StopStrings stops(params.stop, [&](int32_t token, const std::string& piece) {
    const size_t k = handed_on++;
    if (!params.on_token) return true;
    TokenEvent event;
    event.token = token;
    event.piece = piece;
    std::vector<TokenLogprob> top;
    if (k < logprobs.size()) {
      event.logprob = logprobs[k].logprob;
      top = public_top(logprobs[k], tokenizer);
      event.top = top;
    }
    return params.on_token(event);
  });
  ServedResult served = engine.run(
      std::move(request),
      [&](int32_t token, const std::string& piece, const runtime::TokenLogprobs* lp) {
        if (lp) logprobs.push_back(*lp);
        return stops.push(token, piece);
      },
      params.cancel);
  if (!stops.stopped_by_string() && !stops.stopped_by_callback()) stops.flush();

  const runtime::RequestResult& r = served.result;
  GenerateResult out;
  out.text = stops.text();
  out.tokens.assign(r.tokens.begin(), r.tokens.begin() + std::min<size_t>(r.tokens.size(), stops.tokens_kept()));
  for (size_t k = 0; k < out.tokens.size() && k < r.logprobs.size(); ++k) {
    out.logprobs.push_back(r.logprobs[k].logprob);
    out.top_logprobs.push_back(public_top(r.logprobs[k], tokenizer));
  }
  out.prompt_tokens = r.prompt_tokens;
  out.reused_prompt_tokens = r.reused_prompt_tokens;
  out.dropped_prompt_tokens = dropped_prompt_tokens;
  out.finish_reason = finish_reason(stops, r.stop_reason);
  out.queue_seconds = served.queue_seconds;
  out.first_token_seconds = served.first_token_seconds;
  out.total_seconds = served.total_seconds;
  return out;
}

}  // namespace chorus::api

namespace chorus {

void validate_grammar(std::string_view gbnf, const std::string& name) { runtime::Grammar::parse(gbnf, name); }

}  // namespace chorus
