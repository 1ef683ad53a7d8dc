#include "graph/executor.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "graph/prompt_template.h"

namespace chorus::graph {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kRouterLane = "router";
constexpr const char* kWaveLane = "waves";
constexpr const char* kStoreLane = "weight store";

nlohmann::json route_json(const RouteDecision& d) {
  return {{"category", d.category}, {"expert", d.expert},       {"confidence", d.confidence},
          {"score", d.score},       {"out_of_domain", d.out_of_domain}, {"fallback", d.fallback},
          {"refused", d.refused}};
}

// One execution of a plan: the nodes' state, the report being built, the clock.
class PlanRun {
 public:
  PlanRun(const Plan& plan, std::string_view question, ExpertBackend& backend, const ExpertResolver& resolve,
      const ExecutorOptions& options)
      : plan_(plan), question_(question), backend_(backend), resolve_(resolve), options_(options), start_(Clock::now()) {
    for (const PlanNode& n : plan.nodes) {
      NodeResult r;
      r.id = n.id;
      r.expert = n.expert;
      result_.nodes.push_back(std::move(r));
      finished_.push_back(false);
    }
  }

  CompositionResult execute() {
    for (std::vector<size_t> wave = ready_nodes({}); !wave.empty(); wave = ready_nodes({})) run_wave(wave);
    if (std::find(finished_.begin(), finished_.end(), false) != finished_.end())
      throw Error(ErrorCode::kInternal, "the executor stopped with unfinished nodes: was the plan validated?");
    const NodeResult& last = result_.nodes.back();
    result_.failures = answer_failures();
    result_.ok = result_.failures.empty();
    result_.answer = last.status == NodeStatus::kDone ? last.output : marker(last);
    result_.seconds = now();
    return std::move(result_);
  }

 private:
  double now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  size_t index_of(const std::string& id) const {
    for (size_t i = 0; i < plan_.nodes.size(); ++i)
      if (plan_.nodes[i].id == id) return i;
    throw Error(ErrorCode::kInternal, fmt::format("node '{}' is not in the plan", id));
  }
  static std::string marker(const NodeResult& r) { return fmt::format("[node {} failed: {}]", r.id, r.error); }

  // The final node and everything it depends on that did not finish.
  std::vector<std::string> answer_failures() const {
    std::vector<bool> needed(plan_.nodes.size(), false);
    std::vector<size_t> todo{plan_.nodes.size() - 1};
    needed.back() = true;
    while (!todo.empty()) {
      const size_t i = todo.back();
      todo.pop_back();
      for (const std::string& d : plan_.nodes[i].deps) {
        const size_t j = index_of(d);
        if (!needed[j]) needed[j] = true, todo.push_back(j);
      }
    }
    std::vector<std::string> failures;
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      const NodeResult& r = result_.nodes[i];
      if (needed[i] && r.status != NodeStatus::kDone)
        failures.push_back(fmt::format("node '{}' {}: {}", r.id, node_status_name(r.status), r.error));
    }
    return failures;
  }

  // Unfinished nodes whose deps are finished, counting `also_finished` as finished.
  std::vector<size_t> ready_nodes(const std::vector<size_t>& also_finished) const {
    std::vector<size_t> ready;
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      if (finished_[i] || std::find(also_finished.begin(), also_finished.end(), i) != also_finished.end()) continue;
      bool all = true;
      for (const std::string& d : plan_.nodes[i].deps) {
        const size_t j = index_of(d);
        all = all && (finished_[j] || std::find(also_finished.begin(), also_finished.end(), j) != also_finished.end());
      }
      if (all) ready.push_back(i);
    }
    return ready;
  }

  void finish(size_t i, NodeStatus status, std::string output, std::string error) {
    NodeResult& r = result_.nodes[i];
    r.status = status;
    r.output = std::move(output);
    r.error = std::move(error);
    finished_[i] = true;
  }

  // The node's expert when it can be known before its wave: named, or
  // resolvable from text that uses no other node's output. Routes at most once.
  std::optional<std::string> expert_before_wave(size_t i) {
    const PlanNode& n = plan_.nodes[i];
    if (!n.expert.empty()) return n.expert;
    if (!referenced_nodes(n.prompt).empty()) return std::nullopt;
    route(i, render_template(n.prompt, question_, [](const std::string&) { return std::string(); }));
    return result_.nodes[i].expert.empty() ? std::nullopt : std::optional(result_.nodes[i].expert);
  }

  void route(size_t i, const std::string& text) {
    NodeResult& r = result_.nodes[i];
    if (r.route) return;
    const double t0 = now();
    RouteDecision d;
    try {
      d = resolve_(plan_.nodes[i], text);
    } catch (const Error& e) {
      d.refused = true;
      route_errors_[i] = fmt::format("routing failed: {}", e.what());
    }
    result_.trace.push_back(TraceEvent{fmt::format("route {}", r.id), kRouterLane, t0, now() - t0, route_json(d)});
    r.route = d;
    if (!d.refused) r.expert = d.expert;
  }

  // Renders a ready node's prompt; false when a failed dependency or a cancel skips it.
  bool prepare(size_t i) {
    const PlanNode& n = plan_.nodes[i];
    NodeResult& r = result_.nodes[i];
    if (options_.cancel && options_.cancel->load()) {
      finish(i, NodeStatus::kSkipped, "", "cancelled");
      return false;
    }
    for (const std::string& d : n.deps) {
      const NodeResult& dep = result_.nodes[index_of(d)];
      if (dep.status != NodeStatus::kDone && options_.on_failure == FailurePolicy::kSkipDependants) {
        finish(i, NodeStatus::kSkipped, "", fmt::format("dependency '{}' did not finish", d));
        return false;
      }
    }
    r.prompt = render_template(n.prompt, question_, [&](const std::string& id) {
      const NodeResult& dep = result_.nodes[index_of(id)];
      return dep.status == NodeStatus::kDone ? dep.output : marker(dep);
    });
    if (n.expert.empty()) route(i, r.prompt);
    if (r.route && r.route->refused) {
      const RouteDecision& d = *r.route;
      std::string why = route_errors_.contains(i) ? route_errors_[i]
                        : d.out_of_domain         ? fmt::format("refused: out of domain (score {:.3f})", d.score)
                                                  : fmt::format("refused: no expert for category '{}'", d.category);
      finish(i, NodeStatus::kFailed, "", std::move(why));
      return false;
    }
    return true;
  }

  void run_group(const std::string& expert, const std::vector<size_t>& nodes) {
    std::vector<NodeJob> jobs;
    for (size_t i : nodes) {
      jobs.push_back(NodeJob{plan_.nodes[i].id, result_.nodes[i].prompt, plan_.nodes[i].generation});
      jobs.back().cancel = options_.cancel;
      if (options_.on_piece)
        jobs.back().on_piece = [this, id = plan_.nodes[i].id](const std::string& piece) { options_.on_piece(id, piece); };
    }
    const double t0 = now();
    std::vector<NodeRun> runs;
    std::string batch_error;
    try {
      runs = backend_.run_batch(expert, jobs);
      if (runs.size() != jobs.size())
        batch_error = fmt::format("the backend returned {} results for {} prompts", runs.size(), jobs.size());
    } catch (const Error& e) {
      batch_error = e.what();
    }
    // The runs' times count from the batch's start, which is after any wait for
    // the expert's load: the longest run ends when the batch returns, and the
    // wait before shows as its own event.
    const double returned = now();
    double longest = 0;
    for (const NodeRun& run : runs) longest = std::max(longest, run.prefill_seconds + run.decode_seconds);
    const double batch_start = std::max(t0, returned - longest);
    const std::string lane = fmt::format("expert {}", expert);
    if (batch_error.empty() && batch_start - t0 > 1e-3)
      result_.trace.push_back(
          TraceEvent{fmt::format("wait for {}", expert), lane, t0, batch_start - t0, {{"expert", expert}}});
    for (size_t k = 0; k < nodes.size(); ++k) {
      const size_t i = nodes[k];
      if (!batch_error.empty()) {
        finish(i, NodeStatus::kFailed, "", batch_error);
        continue;
      }
      NodeRun& run = runs[k];
      result_.nodes[i].run = run;
      const nlohmann::json args = {{"node", plan_.nodes[i].id}, {"batch", nodes.size()},
                                   {"prompt_tokens", run.prompt_tokens}, {"reused_prompt_tokens", run.reused_prompt_tokens},
                                   {"generated_tokens", run.generated_tokens}};
      result_.trace.push_back(
          TraceEvent{fmt::format("prefill {}", plan_.nodes[i].id), lane, batch_start, run.prefill_seconds, args});
      result_.trace.push_back(TraceEvent{fmt::format("decode {}", plan_.nodes[i].id), lane,
                                         batch_start + run.prefill_seconds, run.decode_seconds, args});
      if (run.ok)
        finish(i, NodeStatus::kDone, std::move(run.text), "");
      else
        finish(i, NodeStatus::kFailed, "", run.error.empty() ? "the expert failed" : run.error);
    }
  }

  void collect_moves() {
    for (runtime::MoveRecord& m : backend_.take_moves()) {
      const double started = std::max(0.0, std::chrono::duration<double>(m.started - start_).count());
      result_.trace.push_back(TraceEvent{
          fmt::format("{} {}→{}", m.expert, runtime::tier_name(m.from), runtime::tier_name(m.to)), kStoreLane, started,
          m.seconds, runtime::to_json(m)});
      result_.moves.push_back(std::move(m));
    }
  }

  void run_wave(const std::vector<size_t>& wave) {
    WaveRecord record;
    record.start_s = now();
    const int index = static_cast<int>(result_.waves.size());
    std::vector<std::string> order;  // experts in order of first use
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i : wave) {
      result_.nodes[i].wave = index;
      record.nodes.push_back(plan_.nodes[i].id);
      if (!prepare(i)) continue;
      const std::string& expert = result_.nodes[i].expert;
      if (expert == kJoinExpert) {
        finish(i, NodeStatus::kDone, result_.nodes[i].prompt, "");
        continue;
      }
      if (!groups.contains(expert)) order.push_back(expert);
      groups[expert].push_back(i);
    }
    // The executor runs first the groups whose experts are closest to ready
    // (resident, then the smallest loads), so the big loads overlap compute.
    if (!options_.sequential) {
      std::map<std::string, LoadCost> cost;  // asked once per expert: the backend reads a store snapshot
      for (const std::string& e : order) cost[e] = backend_.load_cost(e);
      std::stable_sort(order.begin(), order.end(),
                       [&](const std::string& a, const std::string& b) { return cost[a] < cost[b]; });
    }
    // Warm up, in the order they will run, this wave's groups (into the
    // resident tier) and the next wave's experts (into host memory only: a
    // resident copy could evict an expert this wave still has to run), so that
    // the later loads overlap the first group's compute. The first group is
    // queued too, and first: the loader runs one move at a time, so a later
    // group's big load queued before it would hold the first group up.
    if (!options_.sequential) {
      auto warm = [&](const std::string& e, runtime::Tier to) {
        if (std::find(record.prefetched.begin(), record.prefetched.end(), e) != record.prefetched.end()) return;
        backend_.prefetch(e, to);
        record.prefetched.push_back(e);
      };
      for (const std::string& e : order) warm(e, runtime::Tier::kResident);
      for (size_t i : ready_nodes(wave))
        if (const auto e = expert_before_wave(i); e && *e != kJoinExpert && !groups.contains(*e))
          warm(*e, runtime::Tier::kHost);
    }
    for (const std::string& expert : order) {
      if (!options_.sequential) {
        run_group(expert, groups[expert]);
        continue;
      }
      for (size_t node : groups[expert]) run_group(expert, {node});
    }
    collect_moves();
    record.seconds = now() - record.start_s;
    result_.trace.push_back(TraceEvent{fmt::format("wave {}", index), kWaveLane, record.start_s, record.seconds,
                                       {{"nodes", record.nodes}, {"prefetched", record.prefetched}}});
    result_.waves.push_back(std::move(record));
  }

  const Plan& plan_;
  std::string question_;
  ExpertBackend& backend_;
  const ExpertResolver& resolve_;
  ExecutorOptions options_;
  Clock::time_point start_;
  CompositionResult result_;
  std::vector<bool> finished_;
  std::map<size_t, std::string> route_errors_;  // resolver exceptions, by node
};

}  // namespace

const char* node_status_name(NodeStatus s) {
  switch (s) {
    case NodeStatus::kDone: return "done";
    case NodeStatus::kFailed: return "failed";
    case NodeStatus::kSkipped: return "skipped";
  }
  return "?";
}

CompositionResult execute_plan(const Plan& plan, std::string_view question, ExpertBackend& backend,
                               const ExpertResolver& resolve, const ExecutorOptions& options) {
  return PlanRun(plan, question, backend, resolve, options).execute();
}

nlohmann::json to_json(const CompositionResult& result) {
  using nlohmann::json;
  json nodes = json::array();
  for (const NodeResult& n : result.nodes) {
    json j = {{"id", n.id},
              {"expert", n.expert},
              {"status", node_status_name(n.status)},
              {"wave", n.wave},
              {"prompt", n.prompt},
              {"output", n.output},
              {"prefill_s", n.run.prefill_seconds},
              {"decode_s", n.run.decode_seconds},
              {"prompt_tokens", n.run.prompt_tokens},
              {"reused_prompt_tokens", n.run.reused_prompt_tokens},
              {"generated_tokens", n.run.generated_tokens},
              {"tokens", n.run.tokens}};
    if (!n.error.empty()) j["error"] = n.error;
    if (n.route) j["route"] = route_json(*n.route);
    nodes.push_back(j);
  }
  json waves = json::array();
  for (const WaveRecord& w : result.waves)
    waves.push_back({{"nodes", w.nodes}, {"prefetched", w.prefetched}, {"start_s", w.start_s}, {"seconds", w.seconds}});
  json moves = json::array();
  for (const runtime::MoveRecord& m : result.moves) moves.push_back(runtime::to_json(m));
  return {{"ok", result.ok}, {"answer", result.answer}, {"failures", result.failures}, {"seconds", result.seconds},
          {"nodes", nodes},  {"waves", waves},          {"tier_moves", moves}};
}

}  // namespace chorus::graph
