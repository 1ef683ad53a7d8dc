#include "router/router_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::router {

const char* model_kind_name(ModelKind k) { return k == ModelKind::kLinear ? "linear" : "widemlp"; }

ModelKind parse_model_kind(const std::string& name) {
  if (name == "widemlp") return ModelKind::kWideMLP;
  if (name == "linear") return ModelKind::kLinear;
  throw Error(ErrorCode::kInvalidArgument, fmt::format("unknown router model '{}' (widemlp|linear)", name));
}

void RouterModel::logits(const SparseVec& x, float* out) const {
  if (kind == ModelKind::kWideMLP)
    mlp.logits(x, out);
  else
    linear.logits(x, out);
}

Prediction RouterModel::predict_features(const SparseVec& x, GuardScore score) const {
  const size_t L = labels.size();
  thread_local std::vector<float> z, catp;
  z.resize(L);
  catp.assign(categories.size(), 0.0f);
  logits(x, z.data());
  float mx = -INFINITY, mx_in = -INFINITY;
  for (size_t i = 0; i < L; ++i) {
    mx = std::max(mx, z[i]);
    if (label_category[i] >= 0) mx_in = std::max(mx_in, z[i]);
  }
  double sum = 0, sum_in = 0;
  Prediction p;
  for (size_t i = 0; i < L; ++i) {
    const double e = std::exp(static_cast<double>(z[i] - mx));
    sum += e;
    if (label_category[i] >= 0) {
      sum_in += std::exp(static_cast<double>(z[i] - mx_in));
    }
  }
  for (size_t i = 0; i < L; ++i) {
    const float pr = static_cast<float>(std::exp(static_cast<double>(z[i] - mx)) / sum);
    if (label_category[i] >= 0)
      catp[label_category[i]] += pr;
    else
      p.ood_probability += pr;
  }
  const auto best = std::max_element(catp.begin(), catp.end());
  p.category = best == catp.end() ? -1 : static_cast<int>(best - catp.begin());
  p.probability = best == catp.end() ? 0.0f : *best;
  p.ood_class = p.ood_probability > p.probability;
  p.forced_ood = p.ood_class && score != GuardScore::kMargin;
  if (score == GuardScore::kEnergy) p.score = static_cast<float>(mx_in + std::log(sum_in));
  else if (score == GuardScore::kMargin) p.score = p.probability - p.ood_probability;
  else p.score = p.probability;
  return p;
}

Prediction RouterModel::predict(std::string_view text) const {
  Prediction p = predict_features(features.transform(text), guard.score);
  p.out_of_domain = p.forced_ood || p.category < 0 || p.score < guard.threshold;
  return p;
}

void RouterModel::validate() const {
  const auto& fc = features.config();
  if (features.idf().size() != fc.dim)
    throw Error(ErrorCode::kFormat, fmt::format("router idf has {} entries, dim is {}", features.idf().size(), fc.dim));
  if (labels.empty() || categories.empty()) throw Error(ErrorCode::kFormat, "router has no labels or no categories");
  if (label_category.size() != labels.size())
    throw Error(ErrorCode::kFormat, fmt::format("router label_category has {} entries for {} labels",
                                                label_category.size(), labels.size()));
  for (size_t i = 0; i < label_category.size(); ++i)
    if (label_category[i] < -1 || label_category[i] >= static_cast<int>(categories.size()))
      throw Error(ErrorCode::kFormat,
                  fmt::format("router label {} maps to category {} of {}", i, label_category[i], categories.size()));
  if (kind == ModelKind::kWideMLP) {
    if (!mlp.shapes_ok() || mlp.in_dim != fc.dim || mlp.out_dim != labels.size())
      throw Error(ErrorCode::kFormat, fmt::format("router WideMLP shapes ({}x{}x{}) disagree with dim {} / {} labels",
                                                  mlp.in_dim, mlp.hidden, mlp.out_dim, fc.dim, labels.size()));
  } else {
    if (!linear.shapes_ok() || linear.in_dim != fc.dim || linear.out_dim != labels.size())
      throw Error(ErrorCode::kFormat, fmt::format("router linear shapes ({}x{}) disagree with dim {} / {} labels",
                                                  linear.in_dim, linear.out_dim, fc.dim, labels.size()));
  }
}

}  // namespace chorus::router
