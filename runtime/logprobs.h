// Log-probabilities of the model's next-token distribution: the raw logits'
// log-softmax, before any sampling penalty, temperature or grammar mask.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace chorus::runtime {

struct TokenLogprob {
  int32_t token;
  float logprob;
};

// One generated token: its log-probability and the top alternatives.
struct TokenLogprobs {
  int32_t token;
  float logprob;
  std::vector<TokenLogprob> top;  // the n most likely tokens, most likely first
};

// out[i] = logits[i] - log(sum_j exp(logits[j])), summed in double.
void log_softmax(std::span<const float> logits, std::vector<float>& out);
// The n highest values (n capped at the size), highest first; ties go to the lower id.
std::vector<TokenLogprob> top_logprobs(std::span<const float> logprobs, int32_t n);

}  // namespace chorus::runtime
