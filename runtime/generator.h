// Single-prompt generation: prefill the prompt as one chunk, then decode token
// by token until end-of-generation, BOS (as llama2.c's run.c does) or max_tokens
// (or, with a grammar, until the grammar is complete and can read no more).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/grammar.h"
#include "runtime/loaded_model.h"
#include "runtime/logprobs.h"
#include "runtime/sampler.h"

namespace chorus::runtime {

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids, without the stop token
  std::string text;             // their decoded text
  int32_t prompt_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;  // from the first sampled token to the last
  std::string stop_reason;      // "eos", "bos", "max_tokens", "context" or "grammar"
  int64_t grammar_masks = 0;    // with a grammar: masks computed, and the time they took
  double grammar_mask_seconds = 0.0;
  std::vector<TokenLogprobs> logprobs;  // with logprobs > 0: one per generated token (see Request::logprobs)
};

// Called with each generated token and its printable piece (the leading space
// that a space-prefixing vocabulary puts after BOS is removed, as llama2.c does).
using TokenCallback = std::function<void(int32_t token, const std::string& piece)>;

GenerationResult generate(LoadedModel& m, const std::vector<int32_t>& prompt, int32_t max_tokens,
                          const SamplingParams& sampling, const TokenCallback& on_token = {},
                          std::shared_ptr<const Grammar> grammar = nullptr, int32_t logprobs = 0);

}  // namespace chorus::runtime
