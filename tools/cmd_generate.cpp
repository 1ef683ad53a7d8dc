// chorus generate: one prompt in, text out.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "runtime/generator.h"
#include "runtime/loaded_model.h"
#include "tools/commands.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

struct GenerateOptions {
  std::string model, tokenizer, prompt, system;
  int32_t max_tokens = 256;
  bool chat = false, json = false;
  RuntimeFlags runtime;
  runtime::SamplingParams sampling;
};

int run_generate(const GenerateOptions& o) {
  apply_runtime_flags(o.runtime);
  runtime::LoadedModel m = runtime::load_model(o.model, o.tokenizer);
  std::string text = o.prompt;
  if (o.chat) {
    std::vector<models::ChatMessage> msgs;
    if (!o.system.empty()) msgs.push_back({"system", o.system});
    msgs.push_back({"user", o.prompt});
    text = models::render_chat(m.chat, msgs);
  }
  // A chat prompt carries its own special tokens; a plain prompt gets BOS when the vocabulary wants it.
  const std::vector<int32_t> prompt = m.tokenizer->encode(text, !o.chat && m.add_bos, /*parse_special=*/o.chat);
  if (!o.json && !o.chat) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  auto print_piece = [&](int32_t, const std::string& piece) {
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
  };
  runtime::GenerationResult r =
      runtime::generate(m, prompt, o.max_tokens, o.sampling, o.json ? runtime::TokenCallback{} : print_piece);
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
    std::puts(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs("\n", stdout);
    std::fprintf(stderr, "prompt: %d tokens, %.1f tok/s; generated: %zu tokens, %.1f tok/s (stop: %s)\n",
                 r.prompt_tokens, prefill_tok_s, r.tokens.size(), decode_tok_s, r.stop_reason.c_str());
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
  cmd->add_option("--prompt,-p", o->prompt, "Prompt text (default: empty, i.e. start from BOS)");
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Most tokens to generate")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature,-t", o->sampling.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Keep the K most likely tokens; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Keep the smallest set with this much probability; 1 = off")
      ->capture_default_str();
  cmd->add_option("--min-p", o->sampling.min_p, "Drop tokens below this fraction of the best one's probability; 0 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", o->sampling.repetition_penalty,
                  "Penalty for tokens among the last --repeat-last-n; 1 = off")->capture_default_str();
  cmd->add_option("--repeat-last-n", o->sampling.repeat_last_n, "History the repeat penalty looks at")
      ->capture_default_str();
  cmd->add_option("--seed,-s", o->sampling.seed, "Random seed; the same seed gives the same text")->capture_default_str();
  add_runtime_flags(cmd, o->runtime);
  cmd->add_flag("--chat", o->chat,
                "Render the prompt through the model's chat template (built in: chatml, llama2, llama3, gemma, "
                "zephyr) and print only the answer");
  cmd->add_option("--system", o->system, "System message for --chat");
  cmd->add_flag("--json", o->json,
                "Print one JSON object (text, tokens, prompt_tokens, prefill_tok_s, decode_tok_s) instead of text");
  cmd->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace chorus::cli
