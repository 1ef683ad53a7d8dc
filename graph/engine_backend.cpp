#include "graph/engine_backend.h"

#include <chrono>

#include <fmt/format.h>

#include "chorus/error.h"
#include "graph/prompt_template.h"
#include "models/chat_prompt.h"
#include "models/gguf.h"
#include "runtime/loaded_model.h"

namespace chorus::graph {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

runtime::SamplingParams sampling_for(const runtime::GenerationDefaults& defaults, const NodeGeneration& node) {
  runtime::SamplingParams p = defaults.sampling;
  if (node.temperature) p.temperature = *node.temperature;
  if (node.seed) p.seed = *node.seed;
  return p;
}

}  // namespace

// The expert's tokenizer, prompt format and engine. The tokenizer comes from
// load_model, whose weight views are unused: weights come from the store.
struct EngineBackend::ExpertRuntime {
  const runtime::ExpertSpec* spec = nullptr;
  runtime::LoadedModel model;
  bool chat = false;
  std::unique_ptr<runtime::Engine> engine;

  std::vector<int32_t> encode(const std::string& node_prompt) const {
    const std::string text = spec->prompt_template.empty()
                                 ? node_prompt
                                 : render_template(spec->prompt_template, node_prompt, [](const std::string& id) -> std::string {
                                     throw Error(ErrorCode::kInvalidArgument,
                                                 fmt::format("an expert's prompt_template cannot use {{{{node:{}}}}}", id));
                                   });
    if (!chat) return model.tokenizer->encode(text, model.add_bos, /*parse_special=*/false);
    // The question and the other nodes' outputs are text: only the template's markup holds control tokens.
    return models::encode_chat(*model.tokenizer, model.chat, {{"user", text}}, model.add_bos);
  }
};

EngineBackend::EngineBackend(const runtime::ExpertRegistry& registry, runtime::WeightStore& store,
                             const runtime::EngineOptions& engine_options)
    : registry_(registry), store_(store), engine_options_(engine_options) {}

EngineBackend::~EngineBackend() = default;

EngineBackend::ExpertRuntime& EngineBackend::runtime_of(const std::string& expert) {
  if (auto it = runtimes_.find(expert); it != runtimes_.end()) return *it->second;
  const runtime::ExpertSpec* spec = registry_.find(expert);
  if (!spec) throw Error(ErrorCode::kNotFound, fmt::format("expert '{}' is not in {}", expert, registry_.path));
  auto rt = std::make_unique<ExpertRuntime>();
  rt->spec = spec;
  runtime::EngineOptions options = engine_options_;
  if (spec->activations) options.kernels.activations = *spec->activations;
  rt->model = runtime::load_model(spec->model_path, spec->tokenizer_path, std::nullopt, options.kernels);
  rt->chat = rt->model.file.gguf && rt->model.file.gguf->has("tokenizer.chat_template");
  rt->engine = std::make_unique<runtime::Engine>(rt->model.file.config, *rt->model.tokenizer, options);
  return *runtimes_.emplace(expert, std::move(rt)).first->second;
}

void EngineBackend::prefetch(const std::string& expert, runtime::Tier to) { store_.prefetch(expert, to); }

std::vector<NodeRun> EngineBackend::run_batch(const std::string& expert, const std::vector<NodeJob>& jobs) {
  ExpertRuntime& rt = runtime_of(expert);
  const runtime::PinnedExpert pinned = store_.pin(expert);
  const Clock::time_point start = Clock::now();

  struct Timing {
    Clock::time_point first, last;
    bool any = false;
  };
  std::vector<Timing> timings(jobs.size());
  // A job the engine refuses (a prompt longer than the context, ...) fails alone:
  // its siblings in the batch still run, and nothing of it stays in the engine.
  std::vector<runtime::RequestId> ids;
  std::vector<std::string> refused(jobs.size());
  for (size_t k = 0; k < jobs.size(); ++k) {
    runtime::Request request;
    try {
      request.prompt = rt.encode(jobs[k].prompt);
    } catch (const Error& e) {
      refused[k] = e.what();
      ids.push_back(-1);
      continue;
    }
    request.max_tokens = jobs[k].generation.max_tokens.value_or(rt.spec->generation.max_tokens);
    request.sampling = sampling_for(rt.spec->generation, jobs[k].generation);
    request.grammar = jobs[k].grammar;
    request.on_token = [&timings, &jobs, k](runtime::RequestId, int32_t, const std::string& piece) {
      if (jobs[k].on_piece) jobs[k].on_piece(piece);
      Timing& t = timings[k];
      t.last = Clock::now();
      if (!t.any) t.first = t.last;
      t.any = true;
    };
    try {
      ids.push_back(rt.engine->submit(std::move(request)));
    } catch (const Error& e) {
      refused[k] = e.what();
      ids.push_back(-1);
    }
  }
  // Step by step, so that a job's cancel flag stops its request between steps
  // (cancelling a request that has finished does nothing).
  while (!rt.engine->idle()) {
    for (size_t k = 0; k < jobs.size(); ++k)
      if (ids[k] >= 0 && jobs[k].cancel && jobs[k].cancel->load()) rt.engine->cancel(ids[k]);
    rt.engine->step(pinned.weights());
  }

  std::vector<NodeRun> runs;
  for (size_t k = 0; k < jobs.size(); ++k) {
    if (ids[k] < 0) {
      NodeRun run;
      run.error = fmt::format("{}: {}", expert, refused[k]);
      runs.push_back(std::move(run));
      continue;
    }
    const runtime::RequestResult& r = rt.engine->result(ids[k]);
    NodeRun run;
    run.ok = r.state == runtime::RequestState::kFinished;
    run.text = r.text;
    if (!run.ok) run.error = fmt::format("{}: {}", expert, r.stop_reason);
    run.prompt_tokens = r.prompt_tokens;
    run.reused_prompt_tokens = r.reused_prompt_tokens;
    run.generated_tokens = static_cast<int32_t>(r.tokens.size());
    run.tokens = r.tokens;
    if (timings[k].any) {
      run.prefill_seconds = seconds_between(start, timings[k].first);
      run.decode_seconds = seconds_between(timings[k].first, timings[k].last);
    }
    runs.push_back(std::move(run));
  }
  return runs;
}

LoadCost EngineBackend::load_cost(const std::string& expert) {
  for (const runtime::ExpertState& e : store_.snapshot().experts) {
    if (e.name != expert) continue;
    if (e.in_resident) return {0, 0};
    return {e.in_host || e.loading_host || e.loading_resident ? 1 : 2, e.resident_bytes};
  }
  return {2, 0};  // unknown here: run_batch reports it
}

std::vector<runtime::MoveRecord> EngineBackend::take_moves() {
  const runtime::StoreSnapshot snapshot = store_.snapshot();
  uint64_t total = 0;
  for (const runtime::ExpertState& e : snapshot.experts) total += e.metrics.moves;
  // The snapshot keeps only the latest moves: take the ones not handed out yet.
  const size_t fresh = static_cast<size_t>(std::min<uint64_t>(total - moves_seen_, snapshot.moves.size()));
  moves_seen_ = total;
  return {snapshot.moves.end() - static_cast<std::ptrdiff_t>(fresh), snapshot.moves.end()};
}

}  // namespace chorus::graph
