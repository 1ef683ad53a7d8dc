// chorus::Model — one model file, ready to generate. Public C++ API.
//
// Threading contract: every member function may be called from several threads
// at once, except the move operations and the destructor. Concurrent `generate`
// calls on one Model are served by one engine as one continuous batch: each
// call's sequence joins the next forward pass and leaves when it finishes, so
// callers get batched throughput without managing batches. A call's
// `on_token` callback runs on the calling thread (never on the engine's), and
// its greedy output is the same as if it ran alone (batch invariance).
//
// The C++ API is exported from libchorus.so for the same compiler and standard
// library it was built with; the C API (chorus.h) is the stable ABI.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chorus/export.h"
#include "chorus/observer.h"

namespace chorus {

// Settings live on the Model, not in the process: two models opened with
// different options run side by side.
struct ModelOptions {
  int32_t threads = 0;           // OpenMP threads of the forward pass; 0 = all cores
  std::string kernel_path;       // "avx512" | "avx2" | "scalar"; "" = the best this CPU runs
  std::string activations;       // "f32" (exact, the default) | "int16" (16-bit integer dot products: logits within 5e-4 of the largest, faster) | "int8" (fastest, coarser)
  std::string dtype;             // "" = the file's weight types; "q8_0", "q4_0", ... = quantize f32/f16 on load
  std::string tokenizer;         // llama2.c tokenizer.bin; "" = the GGUF's vocabulary or one found beside the file
  int32_t context = 0;           // positions per sequence (prompt + answer); 0 = min(the model's, 4096);
                                 // more than the model's is the model's
  int32_t max_running = 16;      // sequences decoded together in one batch
  int64_t kv_budget_bytes = 0;   // KV pool size; 0 = max_running sequences of `context` up to 1 GiB, and
                                 // always one (more sequences than fit wait or are preempted and recomputed)
};

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
};

struct TokenLogprob {
  int32_t token = 0;
  std::string piece;
  float logprob = 0.0f;
};

// One generated token, as handed to the streaming callback and kept in the result.
struct TokenEvent {
  int32_t token = 0;
  std::string_view piece;          // its text (may be part of a UTF-8 character)
  float logprob = 0.0f;            // set when GenerateParams::logprobs > 0
  std::span<const TokenLogprob> top;  // the `logprobs` most likely alternatives
};

// Return false to stop generating (the result's finish_reason is "cancelled").
using TokenCallback = std::function<bool(const TokenEvent&)>;

struct GenerateParams {
  int32_t max_tokens = 256;
  float temperature = 0.8f;        // 0 = greedy
  int32_t top_k = 40;              // 0 = off
  float top_p = 0.95f;             // 1 = off
  float min_p = 0.05f;             // 0 = off
  float repetition_penalty = 1.0f; // 1 = off
  int32_t repeat_last_n = 64;
  uint64_t seed = 42;
  bool chat = false;               // a string prompt is rendered as one user turn of the chat template
  std::string system;              // with chat: a system message first
  bool special_in_prompt = false;  // read control tokens written in the text as control tokens
  bool truncate_prompt = false;    // keep the last tokens of a prompt too long for the context
  std::string grammar;             // GBNF text constraining the output ("" = none)
  std::string grammar_name = "grammar";  // names it in errors ("plan.gbnf:3:14: ...")
  std::vector<std::string> stop;   // stop strings: generation ends before the first one (finish_reason "stop")
  int32_t logprobs = 0;            // > 0: each token's log-probability and this many alternatives
                                   // (the model's distribution before sampling penalties)
  bool ignore_eos = false;         // never end at an end-of-generation token (benchmarks): run to max_tokens
  TokenCallback on_token;          // streaming, on the calling thread; may be empty
  const std::atomic<bool>* cancel = nullptr;  // set it to true from any thread to stop this call
  // Sees this request's activations as they are computed, only its own rows in
  // the batch (observer.h; its callback runs on the engine's thread). An observed
  // prompt is computed whole, not taken from the prefix cache.
  std::shared_ptr<const Observer> observer;
};

struct GenerateResult {
  std::string text;                     // the answer (without the stop string)
  std::vector<int32_t> tokens;          // generated ids
  std::vector<float> logprobs;          // per token, with GenerateParams::logprobs > 0: its log-probability
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // ... and the most likely alternatives, most likely first
  int32_t prompt_tokens = 0;
  int32_t reused_prompt_tokens = 0;     // served from a prefix another request computed
  int32_t dropped_prompt_tokens = 0;   // cut by truncate_prompt
  // "eos", "max_tokens", "stop", "context", "grammar", "cancelled"
  std::string finish_reason;
  double queue_seconds = 0.0;           // submitted → first forward pass with this request
  double first_token_seconds = 0.0;     // submitted → first token
  double total_seconds = 0.0;           // submitted → finished
};

struct ModelInfo {
  std::string path;
  std::string architecture;   // "llama" | "qwen2" | "gemma3"
  std::string name;           // general.name, or the file name
  std::string format;         // "gguf" | "llama2c"
  int32_t vocab_size = 0;
  int32_t context_length = 0; // the model's own
  int32_t context = 0;        // positions per sequence this Model serves
  int32_t n_layers = 0;
  int32_t dim = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t bos = -1;
  int32_t eos = -1;
  bool has_chat_template = false;
  std::string chat_format;    // "chatml", "llama2", ...
  uint64_t weight_bytes = 0;
  std::string kernel_path;    // what it runs on
  std::string activations;
  int32_t threads = 0;
};

// What the engine holds right now (for metrics and back-pressure).
struct EngineLoad {
  int32_t waiting = 0;            // submitted, not yet admitted
  int32_t running = 0;            // in the batch
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_total = 0;
  int64_t steps = 0;              // forward passes so far
  int64_t prompt_tokens = 0;      // computed prompt positions so far
  int64_t generated_tokens = 0;
  int64_t grammar_masks = 0;      // token masks computed for grammar-constrained requests
  double grammar_mask_seconds = 0.0;
};

// A prompt as it will run: its ids, checked against the context.
struct PreparedPrompt {
  std::vector<int32_t> tokens;
  int32_t dropped_tokens = 0;     // cut from its start by GenerateParams::truncate_prompt
};

// Parses GBNF text (llama.cpp notation) as `generate` would; throws
// chorus::Error (kInvalidArgument, with line and column) when it is not valid.
CHORUS_API void validate_grammar(std::string_view gbnf, const std::string& name = "grammar");

class CHORUS_API Model {
 public:
  // Opens a GGUF or llama2.c file. Throws chorus::Error (kNotFound, kFormat,
  // kUnsupported, kInvalidArgument naming the option).
  static Model open(const std::string& path, const ModelOptions& options = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  // Generates from a prompt (rendered through the chat template when params.chat).
  GenerateResult generate(const std::string& prompt, const GenerateParams& params = {});
  // Generates the assistant's next turn of a conversation (always through the chat template).
  GenerateResult generate(const std::vector<ChatMessage>& messages, const GenerateParams& params = {});
  // Generates from prompt token ids, as they are (params.chat, system and truncate_prompt do not apply).
  GenerateResult generate_tokens(const std::vector<int32_t>& prompt, const GenerateParams& params = {});

  // The ids `generate(prompt, params)` would run: chat template (params.chat,
  // system, special_in_prompt), BOS, and the context check — a prompt that does
  // not leave room is refused (kInvalidArgument, with the numbers) unless
  // params.truncate_prompt, which keeps its last tokens.
  PreparedPrompt prepare_prompt(const std::string& prompt, const GenerateParams& params = {}) const;

  // Text to ids (BOS first when add_bos and the vocabulary wants it); control
  // tokens written in the text are text unless parse_special.
  std::vector<int32_t> tokenize(std::string_view text, bool add_bos = true, bool parse_special = false) const;
  std::string detokenize(std::span<const int32_t> tokens) const;
  // One token's text as the vocabulary has it (a leading space included), as TokenLogprob::piece gives it.
  std::string token_piece(int32_t token) const;
  // The prompt ids a conversation renders to (with the assistant's turn opened).
  std::vector<int32_t> chat_tokens(const std::vector<ChatMessage>& messages, bool parse_special = false) const;

  ModelInfo info() const;
  EngineLoad load() const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chorus
