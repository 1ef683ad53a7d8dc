#include "runtime/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace chorus::runtime {

void log_softmax(std::span<const float> logits, std::vector<float>& out) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - max);
  const double lse = max + std::log(sum);
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(logits[i] - lse);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logprobs, int32_t n) {
  std::vector<int32_t> ids(logprobs.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t k = std::min<size_t>(std::max(n, 0), ids.size());
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logprobs[a] != logprobs[b] ? logprobs[a] > logprobs[b] : a < b;
  });
  std::vector<TokenLogprob> top(k);
  for (size_t i = 0; i < k; ++i) top[i] = {ids[i], logprobs[ids[i]]};
  return top;
}

}  // namespace chorus::runtime
