// The HTTP side of `chorus serve`: routes, authentication, limits, error
// objects for every refusal, and the count of every response.
//
//   GET  /health                 liveness (no key needed)
//   GET  /v1/models[/ID]         each expert, and "chorus" (the composition)
//   POST /v1/chat/completions    OpenAI chat completions (stream: server-sent events)
//   POST /v1/completions         OpenAI text completions
//   GET  /metrics                Prometheus text
#pragma once

#include <string>

#include <httplib.h>

#include "tools/serve/serve_context.h"

namespace chorus::serve {

class HttpServer {
 public:
  explicit HttpServer(ServeContext& ctx);
  // Binds host:port (port 0: any free port) and returns the port. Throws chorus::Error (kIo).
  int bind(const std::string& host, int port);
  // Serves until stop(); returns once in-flight requests are answered.
  void listen();
  // Stops accepting connections; safe from any thread, once running().
  void stop();
  bool running() const { return server_.is_running(); }

 private:
  void add_routes();
  ServeContext& ctx_;
  httplib::Server server_;
};

}  // namespace chorus::serve
