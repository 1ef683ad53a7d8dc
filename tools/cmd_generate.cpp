// chorus generate: one prompt in, text out.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/chat_prompt.h"
#include "models/file_kind.h"
#include "models/gguf.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "runtime/engine.h"
#include "runtime/generator.h"
#include "runtime/grammar.h"
#include "runtime/loaded_model.h"
#include "tools/commands.h"
#include "tools/number_flags.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

constexpr int64_t kMaxParallel = 4096;
constexpr int64_t kMaxTokens = 1 << 20;

struct GenerateOptions {
  std::string model, tokenizer, prompt, system, prompts_file, grammar_file;
  int32_t max_tokens = 256;
  int32_t parallel = 4;
  bool chat = false, json = false, verbose = false, special_in_prompt = false, truncate_prompt = false;
  RuntimeFlags runtime;
  runtime::SamplingParams sampling;
  std::shared_ptr<const runtime::Grammar> grammar;  // read from grammar_file
};

// A chat prompt's special tokens come from the template, not from the user's text (unless
// --special-in-prompt); a plain prompt gets BOS when the vocabulary wants it.
std::vector<int32_t> encode_prompt(const runtime::LoadedModel& m, const GenerateOptions& o, const std::string& user) {
  if (!o.chat) return m.tokenizer->encode(user, m.add_bos, o.special_in_prompt);
  std::vector<models::ChatMessage> msgs;
  if (!o.system.empty()) msgs.push_back({"system", o.system});
  msgs.push_back({"user", user});
  return models::encode_chat(*m.tokenizer, m.chat, msgs, false, o.special_in_prompt);
}

// The prompt's tokens, checked before anything is printed or allocated: not
// empty, and short enough for the context (or cut to its last tokens with
// --truncate-prompt). `where` names the prompt in messages.
std::vector<int32_t> prompt_tokens(const runtime::LoadedModel& m, const GenerateOptions& o, const std::string& user,
                                   const std::string& where, bool* truncated = nullptr) {
  std::vector<int32_t> ids = encode_prompt(m, o, user);
  if (ids.empty())
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("{}: the prompt is empty and {} starts no text with BOS: give a prompt", where, o.model));
  const int64_t context = m.file.config.context_length;
  const int64_t room = std::max<int64_t>(context / 2, context - o.max_tokens);  // what --truncate-prompt keeps
  const auto n = static_cast<int64_t>(ids.size());
  if (n < context && (!o.truncate_prompt || n <= room)) return ids;
  if (!o.truncate_prompt)
    throw Error(ErrorCode::kInvalidArgument,
                fmt::format("{}: the prompt has {} tokens, but {}'s context holds {} positions for prompt and answer "
                            "together: shorten it, or pass --truncate-prompt to keep its last {} tokens",
                            where, n, o.model, context, room));
  const bool bos = m.add_bos && !o.chat && m.tokenizer->bos_id() >= 0 && ids.front() == m.tokenizer->bos_id();
  ids.erase(ids.begin() + (bos ? 1 : 0), ids.end() - (room - (bos ? 1 : 0)));
  if (truncated) *truncated = true;
  std::fprintf(stderr, "chorus: %s: --truncate-prompt dropped the first %lld of %lld prompt tokens\n", where.c_str(),
               static_cast<long long>(n - room), static_cast<long long>(n));
  return ids;
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

// --prompts FILE: all prompts on one engine, up to --parallel decoding together; results in input order.
int run_batch(runtime::LoadedModel& m, const GenerateOptions& o) {
  const std::vector<std::string> prompts = read_prompt_lines(o.prompts_file);
  std::vector<std::vector<int32_t>> encoded;
  int64_t longest = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    encoded.push_back(prompt_tokens(m, o, prompts[i], fmt::format("{}: line {}", o.prompts_file, i + 1)));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(encoded.back().size()));
  }
  // The KV pool is sized from what runs: no more sequences than prompts, no
  // more positions than the longest prompt and its answer need.
  const int parallel = std::min<int>(o.parallel, static_cast<int>(prompts.size()));
  runtime::EngineOptions eo;
  eo.max_running = parallel;
  eo.max_context = static_cast<int32_t>(std::min<int64_t>(m.file.config.context_length, longest + o.max_tokens));
  eo.kernels = m.model->kernel_config();
  runtime::Engine engine(m.file.config, *m.tokenizer, eo);
  std::vector<runtime::RequestId> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    runtime::SamplingParams s = o.sampling;
    s.seed += i;  // each prompt its own stream, reproducible for the same file
    ids.push_back(engine.submit({std::move(encoded[i]), o.max_tokens, s, {}, o.grammar}));
  }
  const auto t0 = std::chrono::steady_clock::now();
  engine.run_until_idle(m.weights);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const runtime::RequestResult& r = engine.result(ids[i]);
    if (o.json) {
      results.push_back({{"prompt", prompts[i]}, {"text", r.text}, {"tokens", r.tokens}, {"prompt_tokens", r.prompt_tokens},
                         {"reused_prompt_tokens", r.reused_prompt_tokens}, {"stop_reason", r.stop_reason}});
    } else {
      fmt::print("{}{}{}\n", o.chat ? "" : prompts[i], r.text, i + 1 < prompts.size() ? "\n" : "");
    }
  }
  const auto& st = engine.stats();
  if (o.json) {
    nlohmann::json j = {{"results", results}, {"seconds", seconds}, {"steps", st.steps}, {"prefill_tokens", st.prefill_tokens},
                        {"decode_tokens", st.decode_tokens}, {"reused_prompt_tokens", st.reused_tokens},
                        {"decode_tok_s", st.decode_tokens / seconds}, {"parallel", parallel}};
    std::puts(models::json_text(j).c_str());
  } else {
    std::fflush(stdout);  // the answers before the stats line, also when both go to one terminal or file
    std::fprintf(stderr, "%zu prompt%s, %d in parallel: %lld steps, %lld prompt + %lld generated tokens in %.2f s (%lld prompt tokens shared)\n",
                 prompts.size(), prompts.size() == 1 ? "" : "s", parallel, static_cast<long long>(st.steps), static_cast<long long>(st.prefill_tokens),
                 static_cast<long long>(st.decode_tokens), seconds, static_cast<long long>(st.reused_tokens));
  }
  for (auto id : ids)
    if (engine.result(id).state == runtime::RequestState::kFailed) return 1;
  return 0;
}

int run_generate(GenerateOptions& o) {
  const kernels::KernelConfig kernel_config = apply_runtime_flags(o.runtime);
  if (!o.grammar_file.empty()) o.grammar = std::make_shared<const runtime::Grammar>(runtime::Grammar::load(o.grammar_file));
  runtime::LoadedModel m = runtime::load_model(o.model, o.tokenizer, load_dtype(o.runtime), kernel_config);
  if (o.chat && !(m.file.gguf && m.file.gguf->has("tokenizer.chat_template")))
    std::fprintf(stderr, "chorus: %s has no chat template (tokenizer.chat_template): --chat uses %s\n",
                 models::printable(o.model).c_str(), models::chat_format_name(m.chat.format));
  if (!o.prompts_file.empty()) return run_batch(m, o);
  bool truncated = false;
  const std::vector<int32_t> prompt = prompt_tokens(m, o, o.prompt, "--prompt", &truncated);
  if (!o.json && !o.chat) {
    std::fputs(truncated ? m.tokenizer->decode(prompt).c_str() : o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  auto print_piece = [&](int32_t, const std::string& piece) {
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
  };
  runtime::GenerationResult r =
      runtime::generate(m, prompt, o.max_tokens, o.sampling, o.json ? runtime::TokenCallback{} : print_piece, o.grammar);
  const double mask_ms = r.grammar_masks > 0 ? 1e3 * r.grammar_mask_seconds / r.grammar_masks : 0.0;
  const double prefill_tok_s = r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0.0;
  // The first generated token comes from the prefill's logits: decode rate counts the rest.
  const double decode_tok_s =
      r.tokens.size() > 1 && r.decode_seconds > 0 ? (r.tokens.size() - 1) / r.decode_seconds : 0.0;
  if (o.json) {
    nlohmann::json j = {{"text", r.text},
                        {"tokens", r.tokens},
                        {"prompt_tokens", r.prompt_tokens},
                        {"generated_tokens", r.tokens.size()},
                        {"stop_reason", r.stop_reason},
                        {"prefill_tok_s", prefill_tok_s},
                        {"decode_tok_s", decode_tok_s},
                        {"model", o.model}};
    if (o.grammar) j["grammar_mask_ms"] = mask_ms;
    std::puts(models::json_text(j).c_str());
  } else {
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the answer's newline before the stats line (2>&1 would glue them)
    std::fprintf(stderr, "prompt: %d tokens, %.1f tok/s; generated: %zu tokens, %.1f tok/s (stop: %s)\n",
                 r.prompt_tokens, prefill_tok_s, r.tokens.size(), decode_tok_s, r.stop_reason.c_str());
    if (o.verbose && o.grammar)
      std::fprintf(stderr, "grammar mask: %lld steps, %.2f ms per step over %d tokens\n",
                   static_cast<long long>(r.grammar_masks), mask_ms, m.tokenizer->vocab_size());
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
  // Not -t: llama.cpp users read -t as --threads.
  cmd->add_option("--temperature,--temp", o->sampling.temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()->check(real_in(0, 100));
  cmd->add_option("--top-k", o->sampling.top_k, "Keep the K most likely tokens; 0 = off")->capture_default_str()
      ->check(integer_in(0, kMaxTokens));
  cmd->add_option("--top-p", o->sampling.top_p, "Keep the smallest set with this much probability; 1 = off")
      ->capture_default_str()->check(real_in(0, 1));
  cmd->add_option("--min-p", o->sampling.min_p, "Drop tokens below this fraction of the best one's probability; 0 = off")
      ->capture_default_str()->check(real_in(0, 1));
  cmd->add_option("--repeat-penalty", o->sampling.repetition_penalty,
                  "Penalty for tokens among the last --repeat-last-n; 1 = off")->capture_default_str()
      ->check(real_in(0.01, 100));
  cmd->add_option("--repeat-last-n", o->sampling.repeat_last_n, "History the repeat penalty looks at")
      ->capture_default_str()->check(integer_in(0, kMaxTokens));
  cmd->add_option("--seed,-s", o->sampling.seed, "Random seed; the same seed gives the same text")->capture_default_str()
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
  cmd->add_flag("--json", o->json,
                "Print one JSON object (text, tokens, prompt_tokens, prefill_tok_s, decode_tok_s) instead of text");
  cmd->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace chorus::cli
