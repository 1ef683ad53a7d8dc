#include "tools/serve/metrics_text.h"

#include <fmt/format.h>

namespace chorus::serve {

void ServeCounters::count_response(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++responses_[{route, status}];
}

void ServeCounters::count_tokens(int64_t prompt, int64_t completion) {
  prompt_tokens_.fetch_add(prompt);
  completion_tokens_.fetch_add(completion);
}

std::map<std::pair<std::string, int>, uint64_t> ServeCounters::responses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return responses_;
}

namespace {

// A label value: backslash, double quote and newline escaped, as the format asks.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename T>
  void sample(const std::string& name, const std::string& labels, T value) {
    text += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string text;
};

}  // namespace

std::string prometheus_text(const ServeCounters& c, const QueueState& q, const ComposerMetrics& m) {
  Writer w;
  auto one = [&](const char* name, const char* type, const char* help, auto value) {
    w.family(name, type, help);
    w.sample(name, "", value);
  };
  auto per_expert = [&](const char* name, const char* type, const char* help, auto field) {
    w.family(name, type, help);
    for (const auto& [expert, load] : m.engines) w.sample(name, fmt::format(R"(expert="{}")", label(expert)), field(load));
  };
  auto per_tier = [&](const char* name, const char* help, auto field) {
    w.family(name, "gauge", help);
    for (const auto& t : m.tiers) w.sample(name, fmt::format(R"(tier="{}")", label(t.tier)), field(t));
  };

  w.family("chorus_http_requests_total", "counter", "HTTP responses by route and status code.");
  for (const auto& [key, n] : c.responses())
    w.sample("chorus_http_requests_total", fmt::format(R"(route="{}",status="{}")", label(key.first), key.second), n);
  one("chorus_prompt_tokens_total", "counter", "Prompt tokens of finished completions.", c.prompt_tokens());
  one("chorus_completion_tokens_total", "counter", "Generated tokens of finished completions.", c.completion_tokens());
  one("chorus_client_disconnects_total", "counter", "Requests cancelled because their client went away.", c.disconnects());
  one("chorus_requests_in_flight", "gauge", "Completion requests admitted (running or waiting).", q.in_flight);
  one("chorus_queue_capacity", "gauge", "The most completion requests admitted at once (--max-queue).", q.capacity);

  per_expert("chorus_queue_depth", "gauge", "Sequences waiting for a place in their expert's batch.",
             [](const EngineLoad& l) { return l.waiting; });
  per_expert("chorus_running_sequences", "gauge", "Sequences in their expert's batch.", [](const EngineLoad& l) { return l.running; });
  per_expert("chorus_kv_blocks_used", "gauge", "KV cache blocks held.", [](const EngineLoad& l) { return l.kv_blocks_used; });
  per_expert("chorus_kv_blocks_total", "gauge", "KV cache blocks in the pool.", [](const EngineLoad& l) { return l.kv_blocks_total; });
  per_expert("chorus_engine_steps_total", "counter", "Forward passes.", [](const EngineLoad& l) { return l.steps; });

  per_tier("chorus_tier_used_bytes", "Weight bytes held in a tier of the weight store.", [](const TierUsage& t) { return t.used_bytes; });
  per_tier("chorus_tier_budget_bytes", "A tier's byte budget.", [](const TierUsage& t) { return t.budget_bytes; });
  one("chorus_store_hits_total", "counter", "Pins served from the resident tier.", m.hits);
  one("chorus_store_misses_total", "counter", "Pins that had to load their expert.", m.misses);
  one("chorus_store_evictions_total", "counter", "Experts evicted from a tier.", m.evictions);
  one("chorus_swap_seconds_total", "counter", "Seconds spent moving weights between tiers.", m.swap_seconds);
  one("chorus_pins_held", "gauge", "Weight-store pins held right now.", m.pinned);
  return w.text;
}

}  // namespace chorus::serve
