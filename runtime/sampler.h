// Turns logits into the next token: greedy, or temperature sampling filtered by
// top-k, top-p and min-p, with a repetition penalty. Seeded and reproducible:
// the same seed, logits and history give the same token on every machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace chorus::runtime {

struct SamplingParams {
  float temperature = 0.8f;         // 0 = greedy (argmax)
  int32_t top_k = 40;               // 0 = off
  float top_p = 0.95f;              // 1 = off
  float min_p = 0.05f;              // 0 = off; relative to the most likely token
  float repetition_penalty = 1.0f;  // 1 = off; > 1 discourages tokens in the recent history
  int32_t repeat_last_n = 64;       // how much history the penalty looks at
  uint64_t seed = 42;
};

// Throws chorus::Error (kInvalidArgument) naming the field when a parameter is out of range.
void validate(const SamplingParams& p);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // `logits` is modified (penalty, temperature). `history` is the sequence so far.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

 private:
  double next_uniform();  // [0, 1)

  SamplingParams p_;
  uint64_t state_;
  std::vector<int32_t> order_;
  std::vector<float> probs_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace chorus::runtime
