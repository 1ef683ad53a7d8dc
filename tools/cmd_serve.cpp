// chorus serve: an OpenAI-compatible HTTP server for the experts of a config
// and their composition (tools/serve/, docs/serve.md). SIGINT / SIGTERM stop
// accepting and let the requests in flight finish; a second signal cancels them.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "chorus/composer.h"
#include "chorus/error.h"
#include "tools/commands.h"
#include "tools/fixture_path.h"
#include "tools/number_flags.h"
#include "tools/runtime_flags.h"
#include "tools/serve/composer_backend.h"
#include "tools/serve/http_server.h"

namespace chorus::cli {

namespace {

struct ServeArgs {
  std::string experts, router, host = "127.0.0.1", api_key;
  int port = 8080;
  int max_running = 8;
  int max_context = 2048;
  serve::ServeLimits limits;
  RuntimeFlags runtime;
};

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

// SIGINT / SIGTERM as counts the server's signal thread polls (a handler may
// run on any thread, and may only touch lock-free atomics).
std::atomic<int> stop_signals{0};
std::atomic<int> last_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) {
  last_signal.store(sig);
  stop_signals.fetch_add(1);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is a failed write, not the end of the server
}

// First signal: stop accepting (in-flight requests finish); second: cancel them.
void watch_signals(serve::HttpServer& server, serve::ServeContext& ctx, const std::atomic<bool>& done) {
  int handled = 0;
  while (!done.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int received = stop_signals.load();
    if (received == handled) continue;
    if (handled == 0) {
      std::fprintf(stderr, "chorus serve: %s: no new connections; %lld requests in flight finish (signal again to cancel them)\n",
                   last_signal.load() == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(ctx.admission.in_flight()));
      while (!server.running() && !done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      server.stop();
    }
    if (received > 1) {
      std::fprintf(stderr, "chorus serve: cancelling the requests in flight\n");
      ctx.disconnects.cancel_all();
    }
    handled = received;
  }
}

void run_serve(const ServeArgs& a) {
  if (!is_loopback(a.host) && a.limits.api_key.empty())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("--host {} is reachable from other machines: --api-key KEY is required to bind it", a.host));
  install_signal_handlers();
  apply_runtime_flags(a.runtime);
  ComposerOptions options;
  options.router = router_path(a.router);
  options.threads = a.runtime.threads;
  options.kernel_path = a.runtime.kernel_path;
  options.activations = a.runtime.activations;
  options.dtype = a.runtime.dtype;
  options.max_running = a.max_running;
  options.max_context = a.max_context;
  Composer composer = Composer::open(a.experts, options);
  serve::ComposerBackend backend(composer);
  serve::ServeContext ctx(backend, a.limits);
  serve::HttpServer server(ctx);
  const int port = server.bind(a.host, a.port);

  std::atomic<bool> done{false};
  std::thread signal_thread([&] { watch_signals(server, ctx, done); });
  std::printf("chorus serve: listening on http://%s:%d (models: %s, chorus)\n", a.host.find(':') == std::string::npos ? a.host.c_str() : fmt::format("[{}]", a.host).c_str(),
              port, fmt::format("{}", fmt::join(backend.experts(), ", ")).c_str());
  std::fflush(stdout);
  server.listen();
  done.store(true);
  signal_thread.join();
  std::printf("chorus serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server for a config's experts and their composition");
  cmd->add_option("--experts", a->experts, "Experts config (JSON); each expert is a model, and \"chorus\" is their composition")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--router", a->router, "Router file from train-router (default: the build's default_router.bin)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", a->host, "Address to listen on; anything but loopback needs --api-key")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0: any free port, printed at start)")->capture_default_str()->check(integer_in(0, 65535));
  cmd->add_option("--api-key", a->limits.api_key, "Require 'Authorization: Bearer KEY' on every route but /health");
  cmd->add_option("--max-queue", a->limits.max_queue, "Completion requests admitted at once; more get 429")
      ->capture_default_str()->check(integer_in(1, 4096));
  cmd->add_option("--max-body-bytes", a->limits.max_body_bytes, "Largest request body in bytes")->capture_default_str()
      ->check(integer_in(1024, int64_t{1} << 30));
  cmd->add_option("--max-prompt-tokens", a->limits.max_prompt_tokens, "Longest prompt in tokens (0: each expert's context)")
      ->capture_default_str()->check(integer_in(0, 1 << 20));
  cmd->add_option("--max-running", a->max_running, "Sequences batched at once per expert")->capture_default_str()
      ->check(integer_in(1, 256));
  cmd->add_option("--max-context", a->max_context, "Positions per sequence (prompt and answer)")->capture_default_str()
      ->check(integer_in(16, 32768));
  add_runtime_flags(cmd, a->runtime);
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace chorus::cli
