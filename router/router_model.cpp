#include "router/router_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "chorus/error.h"
#include "router/label_probs.h"

namespace chorus::router {

const char* model_kind_name(ModelKind k) { return k == ModelKind::kLinear ? "linear" : "widemlp"; }

ModelKind parse_model_kind(const std::string& name) {
  if (name == "widemlp") return ModelKind::kWideMLP;
  if (name == "linear") return ModelKind::kLinear;
  throw Error(ErrorCode::kInvalidArgument, fmt::format("unknown router model '{}' (widemlp|linear)", name));
}

void RouterModel::member_logits(size_t k, const SparseVec& x, float* out) const {
  if (kind == ModelKind::kWideMLP)
    mlps[k].logits(x, out);
  else
    linears[k].logits(x, out);
}

Prediction RouterModel::predict_features(const SparseVec& x, GuardScore score) const {
  const size_t L = labels.size(), M = n_members();
  thread_local std::vector<float> z, prob, catp;
  z.resize(L);
  prob.assign(L, 0.0f);
  catp.resize(categories.size());
  double energy = 0;
  for (size_t k = 0; k < M; ++k) {
    member_logits(k, x, z.data());
    add_softmax(z.data(), L, 1.0f / static_cast<float>(M), prob.data());
    if (score == GuardScore::kEnergy) energy += in_domain_logsumexp(z.data(), label_category) / static_cast<double>(M);
  }
  Prediction p;
  p.ood_probability = sum_per_category(prob.data(), label_category, categories.size(), catp.data());
  const auto best = std::max_element(catp.begin(), catp.end());
  p.category = best == catp.end() ? -1 : static_cast<int>(best - catp.begin());
  p.probability = best == catp.end() ? 0.0f : *best;
  p.ood_class = p.ood_probability > p.probability;
  p.forced_ood = p.ood_class && score != GuardScore::kMargin;
  if (score == GuardScore::kEnergy) p.score = static_cast<float>(energy);
  else if (score == GuardScore::kMargin) p.score = p.probability - p.ood_probability;
  else p.score = p.probability;
  return p;
}

SparseVec RouterModel::input(std::string_view text) const {
  SparseVec x = features.transform(text);
  if (embeddings.enabled()) embeddings.append(text, features.config().dim, x);
  return x;
}

Prediction RouterModel::predict(std::string_view text) const {
  Prediction p = predict_features(input(text), guard.score);
  p.out_of_domain = p.forced_ood || p.category < 0 || p.score < guard.threshold;
  return p;
}

void RouterModel::validate() const {
  const auto& fc = features.config();
  if (features.idf().size() != fc.dim)
    throw Error(ErrorCode::kFormat, fmt::format("router idf has {} entries, dim is {}", features.idf().size(), fc.dim));
  embeddings.validate();
  if (labels.empty() || categories.empty()) throw Error(ErrorCode::kFormat, "router has no labels or no categories");
  if (label_category.size() != labels.size())
    throw Error(ErrorCode::kFormat, fmt::format("router label_category has {} entries for {} labels",
                                                label_category.size(), labels.size()));
  for (size_t i = 0; i < label_category.size(); ++i)
    if (label_category[i] < -1 || label_category[i] >= static_cast<int>(categories.size()))
      throw Error(ErrorCode::kFormat,
                  fmt::format("router label {} maps to category {} of {}", i, label_category[i], categories.size()));
  if (n_members() == 0) throw Error(ErrorCode::kFormat, "router has no classifier");
  if ((kind == ModelKind::kWideMLP ? linears.size() : mlps.size()) != 0)
    throw Error(ErrorCode::kFormat, fmt::format("router of kind {} holds classifiers of the other kind", model_kind_name(kind)));
  for (size_t k = 0; k < mlps.size(); ++k) {
    const WideMLP& mlp = mlps[k];
    if (!mlp.shapes_ok() || mlp.in_dim != in_dim() || mlp.out_dim != labels.size() || mlp.hidden != mlps[0].hidden)
      throw Error(ErrorCode::kFormat,
                  fmt::format("router WideMLP member {} shapes ({}x{}x{}) disagree with input {} / {} labels / hidden {}", k,
                              mlp.in_dim, mlp.hidden, mlp.out_dim, in_dim(), labels.size(), mlps[0].hidden));
  }
  for (size_t k = 0; k < linears.size(); ++k) {
    const LinearClassifier& linear = linears[k];
    if (!linear.shapes_ok() || linear.in_dim != in_dim() || linear.out_dim != labels.size())
      throw Error(ErrorCode::kFormat, fmt::format("router linear member {} shapes ({}x{}) disagree with input {} / {} labels",
                                                  k, linear.in_dim, linear.out_dim, in_dim(), labels.size()));
  }
}

}  // namespace chorus::router
