#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

void validate(const SamplingParams& p) {
  auto bad = [](const char* field, double v, const char* range) {
    throw Error(ErrorCode::kInvalidArgument, fmt::format("sampling: {} = {} is out of range ({})", field, v, range));
  };
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature)) bad("temperature", p.temperature, ">= 0");
  if (p.top_k < 0) bad("top_k", p.top_k, ">= 0");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) bad("top_p", p.top_p, "(0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p < 1.0f)) bad("min_p", p.min_p, "[0, 1)");
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
    bad("repetition_penalty", p.repetition_penalty, "> 0");
  if (p.repeat_last_n < 0) bad("repeat_last_n", p.repeat_last_n, ">= 0");
}

// splitmix64 seeding + xorshift64*: tiny, fast and identical everywhere
// (std:: distributions differ between standard libraries).
Sampler::Sampler(const SamplingParams& params) : p_(params) {
  validate(p_);
  uint64_t z = p_.seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  state_ = (z ^ (z >> 31)) | 1;
}

double Sampler::next_uniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<double>((state_ * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const int32_t n = static_cast<int32_t>(logits.size());
  if (p_.repetition_penalty != 1.0f && p_.repeat_last_n > 0) {
    // Each recent token is penalised once, as in llama.cpp and the CTRL paper.
    const size_t from = history.size() > static_cast<size_t>(p_.repeat_last_n) ? history.size() - p_.repeat_last_n : 0;
    std::unordered_set<int32_t> seen(history.begin() + static_cast<std::ptrdiff_t>(from), history.end());
    for (int32_t t : seen) {
      if (t < 0 || t >= n) continue;
      logits[t] = logits[t] > 0 ? logits[t] / p_.repetition_penalty : logits[t] * p_.repetition_penalty;
    }
  }
  if (p_.temperature == 0.0f) return argmax(logits);

  // Candidates sorted by logit (descending); ties broken by id for determinism.
  order_.resize(n);
  for (int32_t i = 0; i < n; ++i) order_[i] = i;
  const int32_t k = p_.top_k > 0 ? std::min(p_.top_k, n) : n;
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), by_logit);
  order_.resize(k);

  probs_.resize(k);
  const float mx = logits[order_[0]];
  double sum = 0.0;
  for (int32_t i = 0; i < k; ++i) {
    probs_[i] = std::exp((logits[order_[i]] - mx) / p_.temperature);
    sum += probs_[i];
  }
  // min-p: drop candidates below min_p times the best probability (probs_[0] is the best).
  int32_t keep = k;
  if (p_.min_p > 0.0f) {
    const float floor = p_.min_p * probs_[0];
    while (keep > 1 && probs_[keep - 1] < floor) sum -= probs_[--keep];
  }
  // top-p: the smallest prefix whose mass reaches top_p.
  if (p_.top_p < 1.0f) {
    double acc = 0.0;
    for (int32_t i = 0; i < keep; ++i) {
      acc += probs_[i];
      if (acc >= p_.top_p * sum) {
        keep = i + 1;
        sum = acc;
        break;
      }
    }
  }
  double u = next_uniform() * sum;
  for (int32_t i = 0; i < keep; ++i) {
    u -= probs_[i];
    if (u < 0.0) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace chorus::runtime
