#include "tools/serve/http_server.h"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "tools/serve/completions.h"
#include "tools/serve/http_reply.h"

namespace chorus::serve {

namespace {

using nlohmann::json;

constexpr const char* kRoutes[] = {"/health", "/v1/models", "/v1/chat/completions", "/v1/completions", "/metrics"};

// The route a path counts under in /metrics: one of the server's, or "other" (no label per stray path).
std::string route_of(const std::string& path) {
  for (const char* r : kRoutes)
    if (path == r) return r;
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

json model_entry(const std::string& id) {
  return {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "chorus"}};
}

// The HTTP status's own error, for what the server refuses before a handler runs.
ApiError status_error(const httplib::Request& req, int status, uint64_t max_body_bytes) {
  switch (status) {
    case 404: return ApiError(404, fmt::format("no route {} {}", req.method, req.path), "", "unknown_url");
    case 413:
      return ApiError(413, fmt::format("the request body is larger than this server's limit of {} bytes (--max-body-bytes)",
                                       max_body_bytes), "", "request_too_large");
    default: return ApiError(status, fmt::format("HTTP {}", status));
  }
}

}  // namespace

HttpServer::HttpServer(ServeContext& ctx) : ctx_(ctx) {
  // Each streaming client holds a worker thread while its request runs, and
  // idle keep-alive connections hold one too: enough threads for a full queue
  // plus room to answer the next clients with a 429.
  const size_t threads = static_cast<size_t>(ctx_.limits.max_queue) + 16;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(ctx_.limits.max_body_bytes);
  server_.set_keep_alive_timeout(2);
  add_routes();
}

void HttpServer::add_routes() {
  ServeContext& ctx = ctx_;
  server_.set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (ctx.limits.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + ctx.limits.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    reply_error(res, ApiError(401, "a valid API key is required: Authorization: Bearer KEY", "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  server_.set_error_handler(httplib::Server::HandlerWithResponse([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.status < 400) return httplib::Server::HandlerResponse::Unhandled;
    reply_error(res, status_error(req, res.status, ctx.limits.max_body_bytes));
    return httplib::Server::HandlerResponse::Handled;
  }));
  server_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, ApiError(500, "internal error: " + what));
  });
  server_.set_logger([&ctx](const httplib::Request& req, const httplib::Response& res) {
    ctx.counters.count_response(route_of(req.path), res.status);
  });

  server_.Get("/health", [](const httplib::Request&, httplib::Response& res) { reply_json(res, {{"status", "ok"}}); });
  server_.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const auto& name : ctx.backend.experts()) data.push_back(model_entry(name));
    data.push_back(model_entry(kCompositionModel));
    reply_json(res, {{"object", "list"}, {"data", data}});
  });
  server_.Get(R"(/v1/models/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    const auto experts = ctx.backend.experts();
    if (id != kCompositionModel && std::find(experts.begin(), experts.end(), id) == experts.end())
      return reply_error(res, ApiError(404, fmt::format("the model '{}' does not exist", id), "model", "model_not_found"));
    reply_json(res, model_entry(id));
  });
  server_.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    const QueueState queue{ctx.admission.in_flight(), ctx.admission.capacity()};
    res.set_content(prometheus_text(ctx.counters, queue, ctx.backend.metrics()), "text/plain; version=0.0.4");
  });
  for (const bool chat : {true, false}) {
    const char* path = chat ? "/v1/chat/completions" : "/v1/completions";
    server_.Post(path, [&ctx, chat](const httplib::Request& req, httplib::Response& res) {
      try {
        handle_completion(ctx, req, res, chat);
      } catch (const ApiError& e) {
        reply_error(res, e);
      }
    });
    server_.Get(path, [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", "POST");
      reply_error(res, ApiError(405, fmt::format("{} takes POST, not GET", req.path), "", "method_not_allowed"));
    });
  }
}

int HttpServer::bind(const std::string& host, int port) {
  const int bound = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) throw Error(ErrorCode::kIo, fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", host, port));
  return bound;
}

void HttpServer::listen() { server_.listen_after_bind(); }

void HttpServer::stop() { server_.stop(); }

}  // namespace chorus::serve
