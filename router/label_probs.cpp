#include "router/label_probs.h"

#include <algorithm>
#include <cmath>

namespace chorus::router {

void add_softmax(const float* z, size_t n, float weight, float* acc) {
  if (n == 0) return;
  const float mx = *std::max_element(z, z + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(z[i] - mx));
  for (size_t i = 0; i < n; ++i) acc[i] += weight * static_cast<float>(std::exp(static_cast<double>(z[i] - mx)) / sum);
}

float in_domain_logsumexp(const float* z, const std::vector<int>& label_category) {
  float mx = -INFINITY;
  for (size_t i = 0; i < label_category.size(); ++i)
    if (label_category[i] >= 0) mx = std::max(mx, z[i]);
  if (mx == -INFINITY) return mx;
  double sum = 0;
  for (size_t i = 0; i < label_category.size(); ++i)
    if (label_category[i] >= 0) sum += std::exp(static_cast<double>(z[i] - mx));
  return static_cast<float>(mx + std::log(sum));
}

float sum_per_category(const float* probs, const std::vector<int>& label_category, size_t n_categories, float* cat) {
  std::fill(cat, cat + n_categories, 0.0f);
  float ood = 0;
  for (size_t i = 0; i < label_category.size(); ++i) {
    if (label_category[i] >= 0) cat[label_category[i]] += probs[i];
    else ood += probs[i];
  }
  return ood;
}

}  // namespace chorus::router
