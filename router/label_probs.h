// From the classifier members' logits to category probabilities: each
// member's softmax is averaged into one label distribution (an ensemble), and
// the label probabilities are summed per category (e.g. CLINC intents into
// domains); labels mapped to category -1 form the out-of-domain mass.
#pragma once

#include <cstddef>
#include <vector>

namespace chorus::router {

// acc[i] += weight · softmax(z)[i] for i < n.
void add_softmax(const float* z, size_t n, float weight, float* acc);

// logsumexp of the logits of in-domain labels (label_category[i] >= 0); the
// negated free energy used by the energy guard score. -inf without any.
float in_domain_logsumexp(const float* z, const std::vector<int>& label_category);

// cat[c] = Σ probs[i] over labels i of category c (cat has n_categories
// entries); returns the summed probability of the out-of-domain labels.
float sum_per_category(const float* probs, const std::vector<int>& label_category, size_t n_categories, float* cat);

}  // namespace chorus::router
