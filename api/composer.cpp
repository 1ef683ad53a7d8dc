// chorus::Composer: the experts config, its weight store, router and planner;
// `ask` runs the wave executor, `generate` one served engine per expert.
#include "chorus/composer.h"

#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/generation.h"
#include "api/model_info.h"
#include "api/model_options.h"
#include "api/prompt.h"
#include "api/served_engine.h"
#include "api/swap_arbiter.h"
#include "chorus/error.h"
#include "chorus/router.h"
#include "graph/decomposer.h"
#include "graph/engine_backend.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/planner.h"
#include "graph/registry_routing.h"
#include "graph/trace.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "runtime/expert_registry.h"
#include "runtime/loaded_model.h"
#include "runtime/weight_store.h"

namespace chorus {

namespace {

// An expert's tokenizer and engine for `generate`; its weights come from the store.
struct ServedExpert {
  runtime::LoadedModel model;
  runtime::EngineOptions engine_options;
  std::unique_ptr<api::ServedEngine> engine;
};

std::string tier_name(const runtime::ExpertState& e) {
  return e.in_resident ? "resident" : e.in_host ? "host" : "disk";
}

NodeOutcome outcome_of(const graph::PlanNode& node, const graph::NodeResult& n) {
  NodeOutcome o;
  o.id = n.id;
  o.expert = n.expert;
  o.deps = node.deps;
  o.status = graph::node_status_name(n.status);
  o.prompt = n.prompt;
  o.output = n.output;
  o.error = n.error;
  o.wave = n.wave;
  if (n.route) {
    o.route_category = n.route->category;
    o.route_confidence = n.route->confidence;
    o.route_fallback = n.route->fallback;
  }
  o.prompt_tokens = n.run.prompt_tokens;
  o.generated_tokens = n.run.generated_tokens;
  o.tokens = n.run.tokens;
  o.seconds = n.run.prefill_seconds + n.run.decode_seconds;
  return o;
}

}  // namespace

struct Composer::Impl {
  ComposerOptions options;
  api::RuntimeSettings settings;
  runtime::ExpertRegistry registry;
  std::unique_ptr<runtime::WeightStore> store;
  std::unique_ptr<api::SwapArbiter> arbiter;
  std::optional<Router> router;
  graph::PlanVocabulary vocabulary;

  std::mutex ask_mu;  // the executor's backend serves one ask at a time
  std::unique_ptr<graph::EngineBackend> backend;

  mutable std::mutex served_mu;
  std::map<std::string, std::unique_ptr<ServedExpert>> served;

  ServedExpert& served_expert(const std::string& name);
  graph::Plan make_plan(const std::string& question, const AskParams& params,
                        std::optional<graph::PlannerOutcome>& planned, std::string& source);
};

ServedExpert& Composer::Impl::served_expert(const std::string& name) {
  std::lock_guard lock(served_mu);
  if (auto it = served.find(name); it != served.end()) return *it->second;
  const runtime::ExpertSpec* spec = registry.find(name);
  if (!spec) {
    std::vector<std::string> names;
    for (const auto& e : registry.experts) names.push_back(e.name);
    throw Error(ErrorCode::kNotFound,
                fmt::format("expert '{}' is not in {} (experts: {})", name, registry.path, fmt::join(names, ", ")));
  }
  auto s = std::make_unique<ServedExpert>();
  s->model = runtime::load_model(spec->model_path, spec->tokenizer_path);  // tokenizer and config; weights: the store
  s->engine_options = api::engine_options(s->model.file.config, options.max_context, options.max_running, 0);
  s->engine_options.kernels = settings.kernels;
  if (spec->activations) s->engine_options.kernels.activations = *spec->activations;
  api::SwapArbiter* arb = arbiter.get();
  s->engine = std::make_unique<api::ServedEngine>(
      s->model.file.config, *s->model.tokenizer, s->engine_options, [arb, name] { return arb->lease(name); },
      settings.threads, [arb] { return arb->someone_waits(); });
  return *served.emplace(name, std::move(s)).first->second;
}

Composer::Composer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Composer::Composer(Composer&&) noexcept = default;
Composer& Composer::operator=(Composer&&) noexcept = default;
Composer::~Composer() = default;

Composer Composer::open(const std::string& experts_config, const ComposerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->settings = api::resolve_settings(options.threads, options.kernel_path, options.activations, options.dtype);
  if (options.max_running < 1 || options.max_running > 256)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("max_running {} is out of range: 1 to 256", options.max_running));
  if (options.max_context < 16 || options.max_context > 32768)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("max_context {} is out of range: 16 to 32768", options.max_context));
  impl->registry = runtime::load_expert_registry(experts_config);
  for (runtime::ExpertSpec& e : impl->registry.experts) {  // the options, when given, replace each expert's own
    if (impl->settings.dtype) e.dtype = impl->settings.dtype;
    if (impl->settings.activations_given) e.activations = impl->settings.kernels.activations;
  }
  impl->vocabulary = graph::plan_vocabulary(impl->registry);
  if (!options.router.empty()) impl->router = Router::load(options.router);
  impl->store = std::make_unique<runtime::WeightStore>(impl->registry);
  impl->arbiter = std::make_unique<api::SwapArbiter>(*impl->store);
  return Composer(std::move(impl));
}

graph::Plan Composer::Impl::make_plan(const std::string& question, const AskParams& params,
                                      std::optional<graph::PlannerOutcome>& planned, std::string& source) {
  if (!params.plan_path.empty()) {
    source = "file";
    return graph::load_plan(params.plan_path, vocabulary);
  }
  source = params.planner.empty() ? (registry.planner_expert.empty() ? "rules" : "model") : params.planner;
  if (source == "model") {
    if (registry.planner_expert.empty())
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("planner 'model': {} names no planner expert (add \"planner\": \"NAME\")", registry.path));
    planned = graph::plan_with_expert(question, registry.planner_expert, *backend, vocabulary);
    return planned->plan;
  }
  if (source == "rules") return graph::decompose(question);
  if (source == "trivial") return graph::trivial_plan();
  throw Error(ErrorCode::kInvalidArgument,
              fmt::format("planner '{}' is not one of model, rules, trivial", models::printable(source)));
}

AskResult Composer::ask(const std::string& question, const AskParams& params) {
  Impl& s = *impl_;
  std::lock_guard lock(s.ask_mu);
  if (!s.backend) {
    runtime::EngineOptions engine;
    engine.max_running = s.options.max_running;
    engine.max_context = s.options.max_context;
    engine.kernels = s.settings.kernels;
    s.backend = std::make_unique<graph::EngineBackend>(s.registry, *s.store, engine);
  }
  std::optional<graph::PlannerOutcome> planned;
  std::string source;
  const graph::Plan plan = s.make_plan(question, params, planned, source);
  graph::validate_plan(plan, s.vocabulary);

  graph::ExecutorOptions options;
  options.cancel = params.cancel;
  options.on_failure = params.skip_failed_dependants ? graph::FailurePolicy::kSkipDependants
                                                     : graph::FailurePolicy::kMarker;
  bool streaming = static_cast<bool>(params.on_final_token);
  if (streaming)
    options.on_piece = [&, final_id = plan.nodes.back().id](const std::string& node, const std::string& piece) {
      if (!streaming || node != final_id) return;
      TokenEvent event;
      event.token = -1;
      event.piece = piece;
      streaming = params.on_final_token(event);
    };
  const graph::CompositionResult result = graph::execute_plan(
      plan, question, *s.backend, graph::make_resolver(s.registry, s.router ? &*s.router : nullptr), options);
  if (!params.trace_path.empty()) graph::write_chrome_trace(result.trace, params.trace_path);

  AskResult out;
  out.answer = result.answer;
  out.ok = result.ok;
  out.failures = result.failures;
  out.seconds = result.seconds;
  for (size_t i = 0; i < plan.nodes.size(); ++i) out.nodes.push_back(outcome_of(plan.nodes[i], result.nodes[i]));
  out.planner.source = planned ? planned->source : source;
  if (planned) {
    out.planner.expert = planned->expert;
    out.planner.fallback_reason = planned->fallback_reason;
    out.planner.seconds = planned->seconds;
    out.planner.generated_tokens = planned->generated_tokens;
  }
  nlohmann::json j = graph::to_json(result);
  j["question"] = question;
  j["plan"] = graph::to_json(plan);
  j["planner"] = planned ? graph::to_json(*planned) : nlohmann::json{{"source", source}};
  out.json = models::json_text(j, 2);
  return out;
}

GenerateResult Composer::generate(const std::string& expert, const std::string& prompt, const GenerateParams& params) {
  ServedExpert& e = impl_->served_expert(expert);
  PreparedPrompt p = api::prepare_prompt(e.model, prompt, params, e.engine_options.max_context, expert);
  return api::run_generation(*e.engine, std::move(p.tokens), params, p.dropped_tokens);
}

GenerateResult Composer::generate(const std::string& expert, const std::vector<ChatMessage>& messages,
                                  const GenerateParams& params) {
  ServedExpert& e = impl_->served_expert(expert);
  PreparedPrompt p = api::fit_prompt(api::chat_prompt_tokens(e.model, messages, params.special_in_prompt), params,
                                     e.engine_options.max_context, expert, false);
  return api::run_generation(*e.engine, std::move(p.tokens), params, p.dropped_tokens);
}

std::vector<ExpertInfo> Composer::experts() const {
  const runtime::StoreSnapshot snap = impl_->store->snapshot();
  std::vector<ExpertInfo> out;
  for (const runtime::ExpertSpec& spec : impl_->registry.experts) {
    ExpertInfo i;
    i.name = spec.name;
    i.model_path = spec.model_path;
    i.categories = spec.categories;
    for (const runtime::ExpertState& st : snap.experts)
      if (st.name == spec.name) {
        i.tier = tier_name(st);
        i.bytes = st.resident_bytes;
      }
    out.push_back(std::move(i));
  }
  return out;
}

ModelInfo Composer::expert_info(const std::string& expert) const {
  ServedExpert& e = impl_->served_expert(expert);
  return api::model_info(e.model, e.model.file.path, e.engine_options.max_context, impl_->settings,
                         e.engine_options.kernels);
}

std::vector<int32_t> Composer::tokenize(const std::string& expert, std::string_view text, bool add_bos,
                                       bool parse_special) const {
  const runtime::LoadedModel& m = impl_->served_expert(expert).model;
  return m.tokenizer->encode(text, add_bos && m.add_bos, parse_special);
}

std::vector<int32_t> Composer::chat_tokens(const std::string& expert, const std::vector<ChatMessage>& messages,
                                           bool parse_special) const {
  return api::chat_prompt_tokens(impl_->served_expert(expert).model, messages, parse_special);
}

ComposerMetrics Composer::metrics() const {
  const runtime::StoreSnapshot snap = impl_->store->snapshot();
  ComposerMetrics m;
  m.tiers.push_back({"resident", snap.resident.used, snap.resident.budget});
  m.tiers.push_back({"host", snap.host.used, snap.host.budget});
  for (const runtime::ExpertState& e : snap.experts) {
    m.hits += e.metrics.hits;
    m.misses += e.metrics.misses;
    m.evictions += e.metrics.resident_evictions + e.metrics.host_evictions;
    m.swap_seconds += e.metrics.move_seconds;
    m.pinned += e.pins;
  }
  std::lock_guard lock(impl_->served_mu);
  for (const auto& [name, e] : impl_->served) m.engines.emplace_back(name, e->engine->load());
  return m;
}

std::string Composer::config_path() const { return impl_->registry.path; }

}  // namespace chorus
