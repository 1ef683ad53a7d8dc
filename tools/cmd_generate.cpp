// chorus generate: one prompt in, text out.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "chorus/model.h"
#include "models/file_kind.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "tools/commands.h"
#include "tools/number_flags.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

constexpr int64_t kMaxParallel = 4096;
constexpr int64_t kMaxTokens = 1 << 20;
// Positions per sequence the program asks for: the model's whole context (the API caps it there).
constexpr int32_t kWholeContext = 1 << 30;

struct GenerateOptions {
  std::string model, tokenizer, prompt, system, prompts_file, grammar_file;
  int32_t max_tokens = 256;
  int32_t parallel = 4;
  int32_t logprobs = 0;
  bool chat = false, json = false, verbose = false, special_in_prompt = false, truncate_prompt = false;
  RuntimeFlags runtime;
  GenerateParams params;  // sampling, filled by the flags
};

GenerateParams params_of(const GenerateOptions& o) {
  GenerateParams p = o.params;
  p.max_tokens = o.max_tokens;
  p.logprobs = o.logprobs;
  p.chat = o.chat;
  p.system = o.system;
  p.special_in_prompt = o.special_in_prompt;
  p.truncate_prompt = o.truncate_prompt;
  if (!o.grammar_file.empty()) {
    p.grammar = models::read_whole_file(o.grammar_file, "grammar");
    p.grammar_name = o.grammar_file;
    validate_grammar(p.grammar, p.grammar_name);  // before anything is printed
  }
  return p;
}

// The prompt's ids, checked before anything is printed; `where` names it in messages.
PreparedPrompt prepare(const Model& model, const std::string& text, const GenerateParams& p, const std::string& where) {
  try {
    PreparedPrompt prepared = model.prepare_prompt(text, p);
    if (prepared.dropped_tokens > 0)
      std::fprintf(stderr, "chorus: %s: --truncate-prompt dropped the first %d of %zu prompt tokens\n", where.c_str(),
                   prepared.dropped_tokens, prepared.tokens.size() + prepared.dropped_tokens);
    return prepared;
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", where, e.what()));
  }
}

// One prompt per line, blank lines included (an empty prompt starts from BOS,
// and results stay in line order); CRLF line ends lose their \r.
std::vector<std::string> read_prompt_lines(const std::string& path) {
  const std::string text = models::read_whole_file(path, "prompts file");
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    std::string line = text.substr(pos, end - pos);
    if (line.ends_with('\r')) line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  if (lines.empty()) throw Error(ErrorCode::kInvalidArgument, fmt::format("{}: no prompts (one per line)", path));
  return lines;
}

// --logprobs in JSON: per generated token, its log-probability and the most likely alternatives.
nlohmann::json logprobs_json(const GenerateResult& r, const Model& model) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < r.logprobs.size(); ++i) {
    nlohmann::json top = nlohmann::json::array();
    for (const TokenLogprob& t : r.top_logprobs[i])
      top.push_back({{"token", t.token}, {"piece", t.piece}, {"logprob", t.logprob}});
    list.push_back({{"token", r.tokens[i]}, {"piece", model.token_piece(r.tokens[i])},
                    {"logprob", r.logprobs[i]}, {"top", top}});
  }
  return list;
}

// --logprobs as text: a line per generated token, its piece escaped.
void print_logprobs(const GenerateResult& r, const Model& model) {
  std::printf("\nlogprobs (the model's distribution, before sampling penalties):\n");
  for (size_t i = 0; i < r.logprobs.size(); ++i) {
    std::string alternatives;
    for (const TokenLogprob& t : r.top_logprobs[i])
      alternatives += fmt::format("  {:>8.4f} {}", t.logprob, models::printable(fmt::format("{:?}", t.piece)));
    const std::string piece = model.token_piece(r.tokens[i]);
    std::printf("%4zu %6d %-16s %8.4f |%s\n", i, r.tokens[i], models::printable(fmt::format("{:?}", piece)).c_str(),
                r.logprobs[i], alternatives.c_str());
  }
}

ModelOptions open_options(const GenerateOptions& o, int32_t max_running) {
  ModelOptions mo = model_options(o.runtime);
  mo.tokenizer = o.tokenizer;
  mo.context = kWholeContext;
  mo.max_running = max_running;
  return mo;
}

// --prompts FILE: every prompt a thread calling generate on one Model, which
// batches them; up to --parallel decode together; results in input order.
int run_batch(const GenerateOptions& o) {
  const std::vector<std::string> prompts = read_prompt_lines(o.prompts_file);
  const int parallel = std::min<int>(o.parallel, static_cast<int>(prompts.size()));
  Model model = Model::open(o.model, open_options(o, parallel));
  const GenerateParams params = params_of(o);
  std::vector<std::vector<int32_t>> encoded;
  for (size_t i = 0; i < prompts.size(); ++i)
    encoded.push_back(prepare(model, prompts[i], params, fmt::format("{}: line {}", o.prompts_file, i + 1)).tokens);

  std::vector<GenerateResult> results(prompts.size());
  std::vector<std::string> errors(prompts.size());
  std::atomic<size_t> next{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  for (int t = 0; t < parallel; ++t)
    callers.emplace_back([&] {
      for (size_t i; (i = next++) < prompts.size();) {
        GenerateParams p = params;
        p.seed += i;  // each prompt its own stream, reproducible for the same file
        try {
          results[i] = model.generate_tokens(encoded[i], p);
        } catch (const Error& e) {
          errors[i] = e.what();
        }
      }
    });
  for (auto& c : callers) c.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const EngineLoad load = model.load();
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const GenerateResult& r = results[i];
    const std::string stop = errors[i].empty() ? r.finish_reason : errors[i];
    if (o.json) {
      list.push_back({{"prompt", prompts[i]}, {"text", r.text}, {"tokens", r.tokens}, {"prompt_tokens", r.prompt_tokens},
                      {"reused_prompt_tokens", r.reused_prompt_tokens}, {"stop_reason", stop}});
      if (o.logprobs > 0) list.back()["logprobs"] = logprobs_json(r, model);
    } else {
      fmt::print("{}{}{}\n", o.chat ? "" : prompts[i], r.text, i + 1 < prompts.size() ? "\n" : "");
      if (!errors[i].empty()) std::fprintf(stderr, "chorus: prompt %zu failed: %s\n", i + 1, errors[i].c_str());
    }
  }
  int64_t reused = 0;
  for (const GenerateResult& r : results) reused += r.reused_prompt_tokens;
  if (o.json) {
    nlohmann::json j = {{"results", list}, {"seconds", seconds}, {"steps", load.steps}, {"prefill_tokens", load.prompt_tokens},
                        {"decode_tokens", load.generated_tokens}, {"decode_tok_s", load.generated_tokens / seconds},
                        {"parallel", parallel}};
    j["reused_prompt_tokens"] = reused;
    std::puts(models::json_text(j).c_str());
  } else {
    std::fflush(stdout);  // the answers before the stats line, also when both go to one terminal or file
    std::fprintf(stderr, "%zu prompt%s, %d in parallel: %lld steps, %lld prompt + %lld generated tokens in %.2f s (%lld prompt tokens shared)\n",
                 prompts.size(), prompts.size() == 1 ? "" : "s", parallel, static_cast<long long>(load.steps),
                 static_cast<long long>(load.prompt_tokens), static_cast<long long>(load.generated_tokens), seconds,
                 static_cast<long long>(reused));
  }
  for (const std::string& e : errors)
    if (!e.empty()) return 1;
  return 0;
}

int run_generate(GenerateOptions& o) {
  if (!o.prompts_file.empty()) return run_batch(o);
  Model model = Model::open(o.model, open_options(o, 1));
  const ModelInfo info = model.info();
  if (o.chat && !info.has_chat_template)
    std::fprintf(stderr, "chorus: %s has no chat template (tokenizer.chat_template): --chat uses %s\n",
                 models::printable(o.model).c_str(), info.chat_format.c_str());
  GenerateParams params = params_of(o);
  const PreparedPrompt prompt = prepare(model, o.prompt, params, "--prompt");
  if (!o.json && !o.chat) {
    std::fputs(prompt.dropped_tokens > 0 ? model.detokenize(prompt.tokens).c_str() : o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  if (!o.json)
    params.on_token = [](const TokenEvent& e) {
      std::fwrite(e.piece.data(), 1, e.piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  const GenerateResult r = model.generate_tokens(prompt.tokens, params);
  const EngineLoad load = model.load();
  const double mask_ms = load.grammar_masks > 0 ? 1e3 * load.grammar_mask_seconds / load.grammar_masks : 0.0;
  const double prefill_tok_s = r.first_token_seconds > 0 ? r.prompt_tokens / r.first_token_seconds : 0.0;
  // The first generated token comes from the prefill's logits: decode rate counts the rest.
  const double decode_seconds = r.total_seconds - r.first_token_seconds;
  const double decode_tok_s = r.tokens.size() > 1 && decode_seconds > 0 ? (r.tokens.size() - 1) / decode_seconds : 0.0;
  if (o.json) {
    nlohmann::json j = {{"text", r.text},
                        {"tokens", r.tokens},
                        {"prompt_tokens", r.prompt_tokens},
                        {"generated_tokens", r.tokens.size()},
                        {"stop_reason", r.finish_reason},
                        {"prefill_tok_s", prefill_tok_s},
                        {"decode_tok_s", decode_tok_s},
                        {"model", o.model}};
    if (!o.grammar_file.empty()) j["grammar_mask_ms"] = mask_ms;
    if (o.logprobs > 0) j["logprobs"] = logprobs_json(r, model);
    std::puts(models::json_text(j).c_str());
  } else {
    std::fputs("\n", stdout);
    if (o.logprobs > 0) print_logprobs(r, model);
    std::fflush(stdout);  // the answer's newline before the stats line (2>&1 would glue them)
    std::fprintf(stderr, "prompt: %d tokens, %.1f tok/s; generated: %zu tokens, %.1f tok/s (stop: %s)\n",
                 r.prompt_tokens, prefill_tok_s, r.tokens.size(), decode_tok_s, r.finish_reason.c_str());
    if (o.verbose && !o.grammar_file.empty())
      std::fprintf(stderr, "grammar mask: %lld steps, %.2f ms per step over %d tokens\n",
                   static_cast<long long>(load.grammar_masks), mask_ms, info.vocab_size);
  }
  return 0;
}

}  // namespace

void register_generate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GenerateOptions>();
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt with one model");
  cmd->add_option("--model,-m", o->model, "Model file: GGUF (llama architecture) or llama2.c checkpoint")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer,
                  "llama2.c tokenizer.bin (default: the GGUF's own vocabulary, or tokenizer.bin / tok<vocab>.bin "
                  "beside a llama2.c checkpoint)")->check(CLI::ExistingFile);
  auto* prompt_opt = cmd->add_option("--prompt,-p", o->prompt,
                                     "Prompt text (default: empty, i.e. start from BOS; a model without BOS needs one)");
  auto* prompts_opt = cmd->add_option("--prompts", o->prompts_file,
                                      "File of prompts, one per line (a blank line is an empty prompt), generated as "
                                      "one continuous batch; results are printed in input order")
                          ->check(CLI::ExistingFile)->excludes(prompt_opt);
  cmd->add_option("--parallel", o->parallel,
                  "With --prompts: sequences decoded together (at most the number of prompts)")
      ->capture_default_str()->check(integer_in(1, kMaxParallel))->needs(prompts_opt);
  cmd->add_flag("--truncate-prompt", o->truncate_prompt,
                "A prompt too long for the context keeps its last tokens (room for --max-tokens, at least half the "
                "context) instead of failing");
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Most tokens to generate")->capture_default_str()
      ->check(integer_in(0, kMaxTokens));
  cmd->add_flag("--ignore-eos", o->params.ignore_eos,
                "Never end at an end-of-generation token: generate --max-tokens tokens (for benchmarks)");
  // Not -t: llama.cpp users read -t as --threads.
  cmd->add_option("--temperature,--temp", o->params.temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()->check(real_in(0, 100));
  cmd->add_option("--top-k", o->params.top_k, "Keep the K most likely tokens; 0 = off")->capture_default_str()
      ->check(integer_in(0, kMaxTokens));
  cmd->add_option("--top-p", o->params.top_p, "Keep the smallest set with this much probability; 1 = off")
      ->capture_default_str()->check(real_in(0, 1));
  cmd->add_option("--min-p", o->params.min_p, "Drop tokens below this fraction of the best one's probability; 0 = off")
      ->capture_default_str()->check(real_in(0, 1));
  cmd->add_option("--repeat-penalty", o->params.repetition_penalty,
                  "Penalty for tokens among the last --repeat-last-n; 1 = off")->capture_default_str()
      ->check(real_in(0.01, 100));
  cmd->add_option("--repeat-last-n", o->params.repeat_last_n, "History the repeat penalty looks at")
      ->capture_default_str()->check(integer_in(0, kMaxTokens));
  cmd->add_option("--seed,-s", o->params.seed, "Random seed; the same seed gives the same text")->capture_default_str()
      ->check(non_negative_integer());
  add_runtime_flags(cmd, o->runtime);
  auto* chat = cmd->add_flag("--chat", o->chat,
                             "Render the prompt through the model's chat template (built in: chatml, llama2, llama3, "
                             "gemma, zephyr) and print only the answer");
  cmd->add_option("--system", o->system, "System message for --chat")->needs(chat);
  cmd->add_flag("--special-in-prompt", o->special_in_prompt,
                "Read control tokens written in the prompt and system text (e.g. <|im_end|>) as control tokens; by "
                "default they are plain text, so a user cannot forge a chat turn");
  auto* grammar = cmd->add_option("--grammar", o->grammar_file,
                                  "GBNF grammar file (llama.cpp notation): every token is chosen among those the "
                                  "grammar allows; generation stops when the grammar is complete (e.g. "
                                  "configs/grammars/plan.gbnf)")
                      ->check(CLI::ExistingFile);
  cmd->add_flag("--verbose", o->verbose, "With --grammar: also print the time spent computing token masks")
      ->needs(grammar);
  cmd->add_option("--logprobs", o->logprobs,
                  "Also give each generated token's log-probability and the N most likely tokens at its place, from "
                  "the model's distribution (the log-softmax of its logits, before repetition penalty, temperature, "
                  "top-k/p and grammar); with --json a \"logprobs\" list")
      ->capture_default_str()->check(integer_in(0, 100));
  cmd->add_flag("--json", o->json,
                "Print one JSON object (text, tokens, prompt_tokens, prefill_tok_s, decode_tok_s) instead of text");
  cmd->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace chorus::cli
