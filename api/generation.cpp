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
  if (params.logprobs != 0)
    throw Error(ErrorCode::kUnsupported, "logprobs are not available yet");
  runtime::Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = params.max_tokens;
  request.sampling = sampling_of(params);
  if (!params.grammar.empty())
    request.grammar = std::make_shared<const runtime::Grammar>(runtime::Grammar::parse(params.grammar, params.grammar_name));

  StopStrings stops(params.stop, [&](int32_t token, const std::string& piece) {
    if (!params.on_token) return true;
    TokenEvent event;
    event.token = token;
    event.piece = piece;
    return params.on_token(event);
  });
  ServedResult served = engine.run(std::move(request), [&](int32_t token, const std::string& piece) {
    return stops.push(token, piece);
  }, params.cancel);
  if (!stops.stopped_by_string() && !stops.stopped_by_callback()) stops.flush();

  const runtime::RequestResult& r = served.result;
  GenerateResult out;
  out.text = stops.text();
  out.tokens.assign(r.tokens.begin(), r.tokens.begin() + std::min<size_t>(r.tokens.size(), stops.tokens_kept()));
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
