// Everything a trained router holds: the featurizer (with its IDF), an
// ensemble of one or more classifiers of one kind (WideMLP or linear; their
// softmax probabilities are averaged), the classifiers' labels and their
// categories (several fine labels, e.g. CLINC intents, may share a category,
// e.g. a domain; a label mapped to -1 is the explicit out-of-domain class),
// the optional pooled token embeddings appended to the features, and the
// calibrated guard.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/guard.h"
#include "router/linear_classifier.h"
#include "router/pooled_embeddings.h"
#include "router/text_features.h"
#include "router/wide_mlp.h"

namespace chorus::router {

enum class ModelKind { kWideMLP, kLinear };
inline constexpr int kMaxMembers = 64;  // classifiers in one ensemble
const char* model_kind_name(ModelKind k);
ModelKind parse_model_kind(const std::string& name);  // throws chorus::Error

struct Prediction {
  int category = -1;       // best in-domain category (argmax of summed probabilities)
  bool ood_class = false;  // the explicit out-of-domain class has the largest probability
  bool forced_ood = false; // ood_class, and the guard score lets the OOD class win by argmax
  float probability = 0;   // probability of `category`
  float ood_probability = 0;
  float score = 0;         // the guard's score
  bool out_of_domain = false;
};

struct RouterModel {
  Featurizer features;
  PooledEmbeddings embeddings;  // optional: appended after the features' dim hashed buckets
  ModelKind kind = ModelKind::kWideMLP;
  std::vector<WideMLP> mlps;               // kind == kWideMLP: the ensemble's members
  std::vector<LinearClassifier> linears;   // kind == kLinear: the ensemble's members
  std::vector<std::string> labels;
  std::vector<std::string> categories;
  std::vector<int> label_category;  // per label: index into categories, or -1 = out of domain
  GuardConfig guard;
  nlohmann::json info = nlohmann::json::object();  // training metadata, validation figures

  // The classifiers' input width and a text's input vector: hashed TF-IDF, then the pooled embeddings.
  uint32_t in_dim() const { return features.config().dim + embeddings.out_dim(); }
  SparseVec input(std::string_view text) const;
  size_t n_labels() const { return labels.size(); }
  size_t n_members() const { return kind == ModelKind::kWideMLP ? mlps.size() : linears.size(); }
  // Member k's logits (n_labels() of them).
  void member_logits(size_t k, const SparseVec& x, float* out) const;
  // Scores with the given guard score; out_of_domain uses guard.threshold.
  Prediction predict(std::string_view text) const;
  Prediction predict_features(const SparseVec& x, GuardScore score) const;
  // Throws chorus::Error(kFormat) when sizes or indices disagree.
  void validate() const;
};

}  // namespace chorus::router
