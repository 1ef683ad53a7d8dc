#include "tools/serve/completions.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "tools/serve/http_reply.h"
#include "tools/serve/responses.h"
#include "tools/serve/sse.h"

namespace chorus::serve {

namespace {

using nlohmann::json;

const char* prompt_param(const CompletionRequest& r) { return r.chat ? "messages" : "prompt"; }

void check_prompt_length(ServeContext& ctx, const CompletionRequest& r) {
  int32_t n = 0, context = 0;
  try {
    n = ctx.backend.prompt_tokens(r.model, r);
    context = ctx.backend.context(r.model);
  } catch (const chorus::Error& e) {
    throw api_error_from(e, prompt_param(r));
  }
  const int32_t limit = ctx.limits.max_prompt_tokens;
  if (limit > 0 && n > limit)
    throw ApiError(400, fmt::format("the prompt is {} tokens; this server's limit is {} (--max-prompt-tokens)", n, limit),
                   prompt_param(r), "context_length_exceeded");
  if (n >= context)
    throw ApiError(400, fmt::format("the prompt is {} tokens; model '{}' serves {} positions per sequence (prompt and answer)",
                                    n, r.model, context), prompt_param(r), "context_length_exceeded");
}

Admission::Ticket admit(ServeContext& ctx) {
  Admission::Ticket ticket = ctx.admission.try_admit();
  if (!ticket.admitted())
    throw ApiError(429, fmt::format("the server is busy: {} requests are in flight (--max-queue); retry later",
                                    ctx.admission.capacity()), "", "queue_full");
  return ticket;
}

// One request's cancel flag, set when its client hangs up or the server shuts down.
struct Cancel {
  Cancel(ServeContext& ctx, const httplib::Request& req) : ctx(ctx), watch(ctx.disconnects.watch(req.remote_addr, req.remote_port, &flag)) {}
  // Cancelled because the client went away (not by a shutdown).
  bool client_gone() const { return flag.load() && !ctx.disconnects.cancelling_all(); }
  ServeContext& ctx;
  std::atomic<bool> flag{false};
  DisconnectWatch::Registration watch;
};

Usage usage_of(const GenerateResult& g) { return {g.prompt_tokens, static_cast<int64_t>(g.tokens.size())}; }

Usage usage_of(const AskResult& a) {
  Usage u;
  for (const auto& n : a.nodes) {
    u.prompt_tokens += n.prompt_tokens;
    u.completion_tokens += n.generated_tokens;
  }
  return u;
}

// A token's log-probability as the response reports it, with at most `top` alternatives.
TokenLogprobs token_logprobs(const TokenEvent& e, int32_t top) {
  const size_t n = std::min(e.top.size(), static_cast<size_t>(top));
  return {std::string(e.piece), e.logprob, std::vector<TokenLogprob>(e.top.begin(), e.top.begin() + n)};
}

// Streams tokens as chunks; a failed write means the client is gone. With
// log-probabilities asked for, each chunk carries those of the tokens whose
// text it holds (the carry of an incomplete UTF-8 character can hold a token
// back to the next chunk).
class ChunkStream {
 public:
  ChunkStream(httplib::DataSink& sink, const ResponseMeta& meta, int32_t top_logprobs = -1)
      : sink_(sink), meta_(meta), top_logprobs_(top_logprobs) {}
  bool text(std::string_view piece) {
    const std::string complete = carry_.take(piece);
    return complete.empty() || send(chunk_body(meta_, complete, std::exchange(first_, false), std::nullopt, take_logprobs()));
  }
  bool token(const TokenEvent& e) {
    if (top_logprobs_ >= 0) pending_.push_back(token_logprobs(e, top_logprobs_));
    return text(e.piece);
  }
  void finish(const std::string& finish_reason, const std::optional<Usage>& usage) {
    const std::string tail = carry_.flush();
    if (!tail.empty() || first_ || !pending_.empty())
      send(chunk_body(meta_, tail, std::exchange(first_, false), std::nullopt, take_logprobs()));
    send(chunk_body(meta_, "", false, finish_reason));
    if (usage) send(usage_chunk_body(meta_, *usage));
    done();
  }
  // An error after the response began: one event with the error object, then the end.
  void fail(const ApiError& e) {
    send(e.body());
    done();
  }
  bool streamed_any() const { return !first_; }
  bool send(const json& event) {
    const std::string s = sse_event(event);
    ok_ = ok_ && sink_.write(s.data(), s.size());
    return ok_;
  }

 private:
  void done() {
    if (ok_) sink_.write(kSseDone.data(), kSseDone.size());
    sink_.done();
  }
  // The pending tokens' "logprobs" (null when not asked for), their text's offset advanced.
  json take_logprobs() {
    if (top_logprobs_ < 0) return nullptr;
    json j = logprobs_json(meta_.chat, pending_, text_offset_);
    for (const TokenLogprobs& t : pending_) text_offset_ += t.piece.size();
    pending_.clear();
    return j;
  }
  httplib::DataSink& sink_;
  const ResponseMeta& meta_;
  const int32_t top_logprobs_;
  std::vector<TokenLogprobs> pending_;
  size_t text_offset_ = 0;
  Utf8Carry carry_;
  bool first_ = true;
  bool ok_ = true;
};

void finish_counts(ServeContext& ctx, const Cancel& cancel, const Usage& usage) {
  ctx.counters.count_tokens(usage.prompt_tokens, usage.completion_tokens);
  if (cancel.client_gone()) ctx.counters.count_disconnect();
}

// Everything one streamed request needs after the handler has returned.
struct StreamJob {
  CompletionRequest request;
  Admission::Ticket ticket;
  ResponseMeta meta;
};

void expert_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res, CompletionRequest r) {
  const auto experts = ctx.backend.experts();
  if (std::find(experts.begin(), experts.end(), r.model) == experts.end())
    throw ApiError(404, fmt::format("the model '{}' does not exist; GET /v1/models lists them", r.model), "model",
                   "model_not_found");
  check_prompt_length(ctx, r);
  Admission::Ticket ticket = admit(ctx);
  ResponseMeta meta = new_response_meta(r.model, r.chat);

  if (!r.stream) {
    Cancel cancel(ctx, req);
    GenerateParams params = r.params;
    params.cancel = &cancel.flag;
    std::vector<TokenLogprobs> logprobs;
    if (r.top_logprobs >= 0)
      params.on_token = [&](const TokenEvent& e) {
        logprobs.push_back(token_logprobs(e, r.top_logprobs));
        return true;
      };
    GenerateResult g;
    try {
      g = ctx.backend.generate(r.model, r, params);
    } catch (const chorus::Error& e) {
      throw api_error_from(e, r.params.grammar.empty() ? "" : "response_format");
    }
    finish_counts(ctx, cancel, usage_of(g));
    // Nobody reads the answer of a client that hung up; 499 ("client closed request") counts it as such.
    if (cancel.client_gone()) return reply_error(res, ApiError(499, "the client closed the connection", "", "cancelled"));
    reply_json(res, completion_body(meta, g.text, openai_finish_reason(g.finish_reason), usage_of(g),
                                    r.top_logprobs >= 0 ? logprobs_json(r.chat, logprobs) : json(nullptr)));
    return;
  }

  auto job = std::make_shared<StreamJob>(StreamJob{std::move(r), std::move(ticket), std::move(meta)});
  res.set_chunked_content_provider("text/event-stream", [&ctx, &req, job](size_t, httplib::DataSink& sink) {
    Cancel cancel(ctx, req);
    ChunkStream stream(sink, job->meta, job->request.top_logprobs);
    GenerateParams params = job->request.params;
    params.cancel = &cancel.flag;
    params.on_token = [&](const TokenEvent& e) { return stream.token(e); };
    try {
      const GenerateResult g = ctx.backend.generate(job->request.model, job->request, params);
      finish_counts(ctx, cancel, usage_of(g));
      stream.finish(openai_finish_reason(g.finish_reason), job->request.include_usage ? std::optional(usage_of(g)) : std::nullopt);
    } catch (const chorus::Error& e) {
      stream.fail(api_error_from(e, job->request.params.grammar.empty() ? "" : "response_format"));
    }
    return true;
  });
}

// The composition's question: the prompt, or the conversation's last user turn.
std::string question_of(const CompletionRequest& r) {
  if (!r.chat) return r.prompt;
  for (auto it = r.messages.rbegin(); it != r.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  throw ApiError(400, "model 'chorus' answers the last user message, and 'messages' has none", "messages");
}

json composition_extension(const AskResult& a) {
  json report = json::parse(a.json, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) report = json::object();
  report["ok"] = a.ok;
  report["failures"] = a.failures;
  return report;
}

void composition_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res, CompletionRequest r) {
  if (!r.fields.empty())
    throw ApiError(400, fmt::format("model 'chorus' runs each node with its expert's settings from the experts config; "
                                    "'{}' cannot be set", r.fields.front()), r.fields.front());
  const std::string question = question_of(r);
  Admission::Ticket ticket = admit(ctx);
  ResponseMeta meta = new_response_meta(r.model, r.chat);

  if (!r.stream) {
    Cancel cancel(ctx, req);
    AskParams params;
    params.cancel = &cancel.flag;
    AskResult a;
    try {
      a = ctx.backend.ask(question, params);
    } catch (const chorus::Error& e) {
      throw api_error_from(e);
    }
    finish_counts(ctx, cancel, usage_of(a));
    if (cancel.client_gone()) return reply_error(res, ApiError(499, "the client closed the connection", "", "cancelled"));
    json body = completion_body(meta, a.answer, "stop", usage_of(a));
    body["chorus"] = composition_extension(a);
    reply_json(res, body);
    return;
  }

  auto job = std::make_shared<StreamJob>(StreamJob{std::move(r), std::move(ticket), std::move(meta)});
  res.set_chunked_content_provider("text/event-stream", [&ctx, &req, job, question](size_t, httplib::DataSink& sink) {
    Cancel cancel(ctx, req);
    ChunkStream stream(sink, job->meta);
    AskParams params;
    params.cancel = &cancel.flag;
    params.on_final_token = [&](const TokenEvent& e) { return stream.text(e.piece); };
    try {
      const AskResult a = ctx.backend.ask(question, params);
      if (!stream.streamed_any()) stream.text(a.answer);  // a final node that runs no model (a join)
      finish_counts(ctx, cancel, usage_of(a));
      stream.finish("stop", job->request.include_usage ? std::optional(usage_of(a)) : std::nullopt);
    } catch (const chorus::Error& e) {
      stream.fail(api_error_from(e));
    }
    return true;
  });
}

}  // namespace

void handle_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res, bool chat) {
  CompletionRequest r = parse_completion_request(req.body, chat);
  if (r.model == kCompositionModel) composition_completion(ctx, req, res, std::move(r));
  else expert_completion(ctx, req, res, std::move(r));
}

}  // namespace chorus::serve
