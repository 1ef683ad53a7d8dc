// chorus bench: prefill and decode speed of one model against the machine's
// streaming read bandwidth measured in the same run; batched decode (--batch)
// and shared prompt prefixes (--shared-prefix). Subcommands add other benches.
#include <omp.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "kernels/kernel_config.h"
#include "kernels/matmul.h"
#include "models/json_text.h"
#include "runtime/engine.h"
#include "runtime/loaded_model.h"
#include "tools/bandwidth_probe.h"
#include "tools/commands.h"
#include "tools/number_flags.h"
#include "tools/machine_info.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

struct BenchOptions {
  std::string model, tokenizer;
  int32_t prompt_tokens = 128, gen_tokens = 64, batch = 1, shared_prefix = 0;
  bool json = false;
  RuntimeFlags runtime;
};

uint64_t matrix_bytes(const kernels::WeightMatrix& w) { return kernels::row_bytes(w.type, w.cols) * w.rows; }

// Bytes of weights one decode step reads: every layer matrix and the classifier.
uint64_t weight_bytes_per_token(const models::LlamaWeights& w) {
  uint64_t total = matrix_bytes(w.output);
  for (const auto& l : w.layers)
    for (const auto* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) total += matrix_bytes(*m);
  return total;
}

struct RunResult {
  double prefill_s = 0, decode_s = 0;
  models::ForwardProfile decode_profile;  // where the decode steps' time went
  int64_t prompt_tokens = 0, computed_prompt_tokens = 0, decoded_tokens = 0, peak_kv_bytes = 0;
};

// B sequences: an optional shared prefix, then distinct tokens; greedy decoding.
RunResult run_batch(runtime::LoadedModel& m, const BenchOptions& o, bool share) {
  const int32_t V = m.file.config.vocab_size;
  runtime::EngineOptions eo;
  eo.max_running = o.batch;
  eo.max_context = o.shared_prefix + o.prompt_tokens + o.gen_tokens + 1;
  eo.max_step_tokens = o.batch * (o.shared_prefix + o.prompt_tokens);
  eo.share_prefixes = share;
  models::ForwardProfile profile;
  eo.profile = &profile;
  eo.kernels = m.model->kernel_config();
  runtime::Engine engine(m.file.config, *m.tokenizer, eo);
  runtime::SamplingParams greedy;
  greedy.temperature = 0.0f;
  uint64_t state = 88172645463325252ull;
  auto next_token = [&] {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return static_cast<int32_t>(3 + state % static_cast<uint64_t>(V - 3));
  };
  std::vector<int32_t> prefix(o.shared_prefix);
  for (auto& t : prefix) t = next_token();
  std::vector<runtime::RequestId> ids;
  RunResult r;
  for (int32_t b = 0; b < o.batch; ++b) {
    std::vector<int32_t> prompt = prefix;
    for (int32_t i = 0; i < o.prompt_tokens; ++i) prompt.push_back(next_token());
    r.prompt_tokens += static_cast<int64_t>(prompt.size());
    // Every sequence decodes gen_tokens tokens, as llama.cpp's benches do: a real model's greedy text
    // reaches EOS after a few tokens, and the batch would shrink as its sequences end.
    runtime::Request request{prompt, o.gen_tokens, greedy, {}};
    request.ignore_eos = true;
    ids.push_back(engine.submit(std::move(request)));
  }
  auto all_started = [&] {
    for (auto id : ids)
      if (engine.result(id).tokens.empty() && engine.result(id).state == runtime::RequestState::kWaiting) return false;
    return true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  while (!engine.idle() && !all_started()) engine.step(m.weights);
  const auto t1 = std::chrono::steady_clock::now();
  profile = {};
  int64_t first_tokens = 0;
  for (auto id : ids) first_tokens += static_cast<int64_t>(engine.result(id).tokens.size());
  engine.run_until_idle(m.weights);
  const auto t2 = std::chrono::steady_clock::now();
  r.prefill_s = std::chrono::duration<double>(t1 - t0).count();
  r.decode_s = std::chrono::duration<double>(t2 - t1).count();
  r.decode_profile = profile;
  int64_t generated = 0;
  for (auto id : ids) generated += static_cast<int64_t>(engine.result(id).tokens.size());
  r.decoded_tokens = generated - first_tokens;
  r.computed_prompt_tokens = engine.stats().prefill_tokens;
  r.peak_kv_bytes = engine.stats().peak_kv_bytes;
  return r;
}

int run_bench(const BenchOptions& o) {
  if (o.model.empty()) throw Error(ErrorCode::kInvalidArgument, "bench: --model is required (or a subcommand such as tiers)");
  if (o.batch < 1 || o.prompt_tokens < 1 || o.gen_tokens < 2 || o.shared_prefix < 0)
    throw Error(ErrorCode::kInvalidArgument, "bench: --batch, --prompt-tokens >= 1, --gen-tokens >= 2, --shared-prefix >= 0");
  const kernels::KernelConfig kernel_config = apply_runtime_flags(o.runtime);
  runtime::LoadedModel m = runtime::load_model(o.model, o.tokenizer, load_dtype(o.runtime), kernel_config);
  const double stream = stream_read_gb_s();
  const uint64_t per_token = weight_bytes_per_token(m.weights);

  const RunResult r = run_batch(m, o, true);
  const double prefill_tok_s = r.computed_prompt_tokens / r.prefill_s;
  const double decode_tok_s = r.decoded_tokens / r.decode_s;
  // A decode step reads the weights once for the whole batch.
  const double decode_gb_s = decode_tok_s / o.batch * per_token / 1e9;

  nlohmann::json j = {{"model", o.model},
                      {"model_bytes", m.file.tensor_bytes()},
                      {"weight_bytes_per_token", per_token},
                      {"prompt_tokens", o.prompt_tokens},
                      {"gen_tokens", o.gen_tokens},
                      {"batch", o.batch},
                      {"decoded_tokens", r.decoded_tokens},  // batch × (gen_tokens − 1): EOS is ignored
                      {"threads", omp_get_max_threads()},
                      {"kernel_path", kernels::kernel_path_name(kernel_config.path)},
                      {"activations", kernels::activation_precision_name(kernel_config.activations)},
                      {"prefill_tok_s", prefill_tok_s},
                      {"decode_tok_s", decode_tok_s},
                      {"decode_gb_s", decode_gb_s},
                      {"stream_read_gb_s", stream},
                      {"decode_fraction_of_stream", decode_gb_s / stream},
                      // Seconds of the decode phase in the forward pass's parts (the rest: sampling, scheduling).
                      {"decode_breakdown_s", {{"total", r.decode_s},
                                              {"matmul", r.decode_profile.matmul_s},
                                              {"attention", r.decode_profile.attention_s},
                                              {"other_forward", r.decode_profile.other_s}}},
                      {"machine", machine_info()}};
  if (o.shared_prefix > 0) {
    const RunResult u = run_batch(m, o, false);
    j["shared_prefix"] = {{"tokens", o.shared_prefix},
                          {"prefill_s_shared", r.prefill_s},
                          {"prefill_s_unshared", u.prefill_s},
                          {"computed_prompt_tokens_shared", r.computed_prompt_tokens},
                          {"computed_prompt_tokens_unshared", u.computed_prompt_tokens},
                          {"peak_kv_bytes_shared", r.peak_kv_bytes},
                          {"peak_kv_bytes_unshared", u.peak_kv_bytes}};
  }
  if (o.json) {
    std::puts(models::json_text(j, 2).c_str());
  } else {
    fmt::print("{}: {:.1f} MiB of weights, {:.1f} MiB read per decode step\n", o.model, m.file.tensor_bytes() / 1048576.0,
               per_token / 1048576.0);
    fmt::print("prefill {:.1f} tok/s; decode {:.1f} tok/s (batch {}) = {:.2f} GB/s of weights, {:.0f}% of the {:.1f} GB/s "
               "streaming read\n", prefill_tok_s, decode_tok_s, o.batch, decode_gb_s, 100 * decode_gb_s / stream, stream);
    if (o.shared_prefix > 0)
      fmt::print("shared {}-token prefix: prefill {:.3f} s vs {:.3f} s unshared, KV peak {:.1f} vs {:.1f} MiB\n",
                 o.shared_prefix, r.prefill_s, j["shared_prefix"]["prefill_s_unshared"].get<double>(),
                 r.peak_kv_bytes / 1048576.0, j["shared_prefix"]["peak_kv_bytes_unshared"].get<double>() / 1048576.0);
  }
  return 0;
}

}  // namespace

CLI::App* register_bench(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Measure prefill/decode speed against the memory-bandwidth limit (subcommands: other benches)");
  cmd->require_subcommand(0, 1);
  cmd->add_option("--model,-m", o->model, "Model file (e.g. one made by `chorus synth`)")->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin for a llama2.c checkpoint")->check(CLI::ExistingFile);
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "Prompt tokens per sequence")->capture_default_str()
      ->check(integer_in(1, 1 << 20));
  cmd->add_option("--gen-tokens", o->gen_tokens, "Tokens to generate per sequence")->capture_default_str()
      ->check(integer_in(2, 1 << 20));
  cmd->add_option("--batch", o->batch, "Sequences decoded together; decode_tok_s is their aggregate")->capture_default_str()
      ->check(integer_in(1, 4096));
  cmd->add_option("--shared-prefix", o->shared_prefix,
                  "Tokens of prompt prefix all sequences share; also runs without sharing and reports both")
      ->capture_default_str()->check(integer_in(0, 1 << 20));
  cmd->add_flag("--json", o->json, "Print one JSON object");
  add_runtime_flags(cmd, o->runtime);
  cmd->callback([o, cmd, &exit_code] {
    if (cmd->get_subcommands().empty()) exit_code = run_bench(*o);
  });
  return cmd;
}

}  // namespace chorus::cli
