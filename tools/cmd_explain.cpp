// chorus explain: what a model does with a prompt — its tokens, the next-token
// distribution at each position, per layer the residual norm, where each head
// looks and the logit lens; as text, JSON, or a self-contained HTML page.
#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/chat_prompt.h"
#include "models/json_text.h"
#include "models/utf8.h"
#include "runtime/explain.h"
#include "runtime/loaded_model.h"
#include "tools/commands.h"
#include "tools/explain_page.h"
#include "tools/number_flags.h"
#include "tools/path_flags.h"
#include "tools/runtime_flags.h"

namespace chorus::cli {

namespace {

struct ExplainFlags {
  std::string model, tokenizer, prompt, html;
  runtime::ExplainOptions explain;
  bool json = false, chat = false, special_in_prompt = false;
  RuntimeFlags runtime;
};

// Probabilities to 6 decimals: the JSON stays readable, and 1e-6 is below any test's tolerance.
double rounded(double p) { return std::round(p * 1e6) / 1e6; }
// The page's heat maps only need a colour: 3 decimals keep the file small.
double map_weight(double p) { return std::round(p * 1e3) / 1e3; }

// The most attention weights one page holds (about 6 bytes each in its JSON).
constexpr int64_t kMaxPageWeights = int64_t{4} << 20;

nlohmann::json choices_json(const runtime::LoadedModel& m, const std::vector<runtime::TokenLogprob>& top) {
  nlohmann::json out = nlohmann::json::array();
  for (const runtime::TokenLogprob& t : top)
    out.push_back({{"token", t.token}, {"piece", m.tokenizer->token_to_piece(t.token)},
                   {"prob", rounded(std::exp(t.logprob))}, {"logprob", t.logprob}});
  return out;
}

nlohmann::json model_json(const runtime::LoadedModel& m, const std::string& path) {
  const models::LlamaConfig& c = m.file.config;
  return {{"path", path}, {"format", m.file.format}, {"architecture", m.file.architecture}, {"name", m.file.name},
          {"layers", c.n_layers}, {"heads", c.n_heads}, {"kv_heads", c.n_kv_heads}, {"dim", c.dim},
          {"head_dim", c.head_dim}, {"hidden_dim", c.hidden_dim}, {"vocab_size", c.vocab_size},
          {"context_length", c.context_length}};
}

// The explanation as JSON; with_maps adds each layer's full attention ([head][query][key]) for the page.
nlohmann::json explanation_json(const runtime::LoadedModel& m, const ExplainFlags& f, const runtime::Explanation& e,
                                bool with_maps) {
  const int64_t n = static_cast<int64_t>(e.tokens.size());
  nlohmann::json tokens = nlohmann::json::array(), next = nlohmann::json::array(), layers = nlohmann::json::array();
  for (int64_t p = 0; p < n; ++p) {
    tokens.push_back({{"position", p}, {"id", e.tokens[p]}, {"piece", e.pieces[p]}});
    next.push_back(choices_json(m, e.next[p]));
  }
  for (const runtime::ExplainedLayer& L : e.layers) {
    nlohmann::json heads = nlohmann::json::array(), lens = nlohmann::json::array();
    for (int32_t h = 0; h < e.n_heads; ++h) {
      nlohmann::json entropy = nlohmann::json::array(), top = nlohmann::json::array(), map = nlohmann::json::array();
      for (int64_t q = 0; q < n; ++q) {
        entropy.push_back(rounded(L.entropy[h * n + q]));
        nlohmann::json keys = nlohmann::json::array();
        for (const runtime::AttendedPosition& a : L.top[h * n + q])
          keys.push_back({{"position", a.position}, {"prob", rounded(a.prob)}});
        top.push_back(keys);
        if (with_maps) {
          nlohmann::json row = nlohmann::json::array();
          for (int64_t k = 0; k <= q; ++k) row.push_back(map_weight(L.probs[(h * n + q) * n + k]));
          map.push_back(row);
        }
      }
      heads.push_back({{"head", h}, {"entropy_bits", entropy}, {"top", top}});
      if (with_maps) heads.back()["probs"] = map;
    }
    for (const auto& top : L.lens) lens.push_back(choices_json(m, top));
    nlohmann::json norms = nlohmann::json::array();
    for (float x : L.resid_norm) norms.push_back(rounded(x));
    layers.push_back({{"layer", L.layer}, {"resid_norm", norms}, {"heads", heads}, {"lens", lens}});
  }
  return {{"model", model_json(m, f.model)}, {"prompt", f.prompt}, {"top_k", f.explain.top_k},
          {"tokens", tokens}, {"next", next}, {"layers", layers}};
}

void print_text(const runtime::LoadedModel& m, const runtime::Explanation& e) {
  using models::printable;
  const int64_t n = static_cast<int64_t>(e.tokens.size());
  auto piece = [&](int32_t t) { return fmt::format("\"{}\"", printable(m.tokenizer->token_to_piece(t))); };
  auto choices = [&](const std::vector<runtime::TokenLogprob>& top) {
    std::string s;
    for (const auto& t : top) s += fmt::format("  {} {:.3f}", piece(t.token), std::exp(t.logprob));
    return s;
  };
  fmt::print("{} ({}): {} layers, {} heads, vocabulary {}\n\ntokens and the next token they predict (top {}):\n",
             printable(m.file.name.empty() ? m.file.path : m.file.name), printable(m.file.architecture),
             m.file.config.n_layers, e.n_heads, m.file.config.vocab_size, e.next.front().size());
  for (int64_t p = 0; p < n; ++p)
    fmt::print("{:>4} {:>7} {:<16} ->{}\n", p, e.tokens[p], piece(e.tokens[p]), choices(e.next[p]));
  fmt::print("\nper layer, at the last position {}:\n", n - 1);
  for (const runtime::ExplainedLayer& L : e.layers) {
    fmt::print("layer {:>2}  residual norm {:8.2f}  logit lens{}\n", L.layer, L.resid_norm.back(), choices(L.lens.back()));
    for (int32_t h = 0; h < e.n_heads; ++h) {
      std::string keys;
      for (const runtime::AttendedPosition& a : L.top[h * n + n - 1])
        keys += fmt::format("  {}:{} {:.2f}", a.position, piece(e.tokens[a.position]), a.prob);
      fmt::print("  head {:>2}  entropy {:5.2f} bits  attends{}\n", h, L.entropy[h * n + n - 1], keys);
    }
  }
  fmt::print("\nlogit lens, the top token of each layer at each position:\n{:>6}", "layer");
  for (int64_t p = 0; p < n; ++p) fmt::print(" | {:<14}", fmt::format("{}:{}", p, printable(e.pieces[p])).substr(0, 14));
  fmt::print("\n");
  for (const runtime::ExplainedLayer& L : e.layers) {
    fmt::print("{:>6}", L.layer);
    for (int64_t p = 0; p < n; ++p) fmt::print(" | {:<14}", printable(m.tokenizer->token_to_piece(L.lens[p].front().token)).substr(0, 14));
    fmt::print("\n");
  }
}

int run_explain(const ExplainFlags& f) {
  const kernels::KernelConfig kernel_config = apply_runtime_flags(f.runtime);
  runtime::LoadedModel m = runtime::load_model(f.model, f.tokenizer, load_dtype(f.runtime), kernel_config);
  const std::vector<int32_t> tokens =
      f.chat ? models::encode_chat(*m.tokenizer, m.chat, {{"user", f.prompt}}, false, f.special_in_prompt)
             : m.tokenizer->encode(f.prompt, m.add_bos, f.special_in_prompt);
  if (!f.html.empty()) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t layers = f.explain.layers.empty() ? m.file.config.n_layers : static_cast<int64_t>(f.explain.layers.size());
    const int64_t weights = layers * m.file.config.n_heads * n * (n + 1) / 2;
    if (weights > kMaxPageWeights)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("--html: {} layers x {} heads x {} positions make {} attention weights, more than a page "
                              "holds ({}): choose fewer --layers or a shorter prompt",
                              layers, m.file.config.n_heads, n, weights, kMaxPageWeights));
  }
  const runtime::Explanation e = runtime::explain(m, tokens, f.explain);
  if (!f.html.empty()) {
    std::ofstream out(f.html, std::ios::binary);
    out << explain_page(models::json_text(explanation_json(m, f, e, true)));
    if (!out) throw Error(ErrorCode::kIo, fmt::format("--html {}: cannot write the page", f.html));
    if (!f.json) std::fprintf(stderr, "chorus: wrote %s\n", models::printable(f.html).c_str());
  }
  if (f.json)
    std::puts(models::json_text(explanation_json(m, f, e, false), 2).c_str());
  else if (f.html.empty())
    print_text(m, e);
  return 0;
}

}  // namespace

void register_explain(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ExplainFlags>();
  auto* cmd = app.add_subcommand(
      "explain", "Show what a model does with a prompt: next-token probabilities, attention per head, logit lens");
  cmd->add_option("--model,-m", f->model, "Model file: GGUF (llama, qwen2, gemma3) or llama2.c checkpoint")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", f->tokenizer, "llama2.c tokenizer.bin (default: as `generate` finds it)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--prompt,-p", f->prompt, "The text to explain (BOS is added when the vocabulary wants it)")
      ->required();
  cmd->add_flag("--chat", f->chat, "Explain the prompt as one user turn of the model's chat template");
  cmd->add_flag("--special-in-prompt", f->special_in_prompt,
                "Read special tokens written in the prompt (<|im_start|>, <s>, ...) as tokens, not text");
  cmd->add_option("--layers", f->explain.layers, "Layers to show, comma-separated (default: all)")
      ->delimiter(',')->check(integer_in(0, 4095));
  cmd->add_option("--top-k", f->explain.top_k, "Next tokens (and logit-lens tokens) per position, 1 to 100")
      ->capture_default_str()->check(integer_in(1, 100));
  cmd->add_option("--top-positions", f->explain.top_positions, "Most attended positions per head and position, 1 to 100")
      ->capture_default_str()->check(integer_in(1, 100));
  cmd->add_flag("--json", f->json, "Print the explanation as JSON (probabilities are the model's, before any sampling)");
  cmd->add_option("--html", f->html,
                  "Write a self-contained page (no network): attention heat maps per layer and head, next-token bars, "
                  "the logit-lens table")
      ->check(output_file());
  add_runtime_flags(cmd, f->runtime);
  cmd->footer(fmt::format("The prompt may have at most {} tokens. Probabilities are the softmax of the raw logits; the "
                          "logit lens applies the final norm and the classifier to each layer's output.\n",
                          runtime::kMaxExplainTokens));
  cmd->callback([f, &exit_code] { exit_code = run_explain(*f); });
}

}  // namespace chorus::cli
