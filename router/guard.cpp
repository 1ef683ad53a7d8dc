#include "router/guard.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "chorus/error.h"
#include "router/json_fields.h"

namespace chorus::router {

const char* guard_score_name(GuardScore s) {
  switch (s) {
    case GuardScore::kEnergy: return "energy";
    case GuardScore::kMargin: return "margin";
    default: return "max_prob";
  }
}

GuardScore parse_guard_score(const std::string& name) {
  if (name == "max_prob") return GuardScore::kMaxProb;
  if (name == "energy") return GuardScore::kEnergy;
  if (name == "margin") return GuardScore::kMargin;
  throw Error(ErrorCode::kFormat, fmt::format("unknown guard score '{}' (max_prob|energy|margin)", name));
}

nlohmann::json GuardConfig::to_json() const { return {{"score", guard_score_name(score)}, {"threshold", threshold}}; }

GuardConfig GuardConfig::from_json(const nlohmann::json& j) {
  GuardConfig g;
  g.score = parse_guard_score(json_string(j, "score", "router guard config"));
  g.threshold = json_float(j, "threshold", "router guard config");
  return g;
}

double harmonic_mean(double a, double b) { return (a + b) > 0 ? 2 * a * b / (a + b) : 0.0; }

CurvePoint measure(const std::vector<Scored>& s, float threshold) {
  size_t n_in = 0, n_ood = 0, ok = 0, rej = 0;
  for (const auto& x : s) {
    const bool reject = x.predicted < 0 || x.score < threshold;
    if (x.gold < 0) {
      ++n_ood;
      rej += reject;
    } else {
      ++n_in;
      ok += (!reject && x.predicted == x.gold);
    }
  }
  CurvePoint p;
  p.threshold = threshold;
  p.in_domain_accuracy = n_in ? static_cast<double>(ok) / n_in : 0.0;
  p.ood_recall = n_ood ? static_cast<double>(rej) / n_ood : 0.0;
  p.gqr = harmonic_mean(p.in_domain_accuracy, p.ood_recall);
  return p;
}

std::vector<CurvePoint> sweep(const std::vector<Scored>& s) {
  // Only queries the classifier accepts can be moved by the threshold.
  std::vector<const Scored*> acc;
  size_t n_in = 0, n_ood = 0, ok = 0, rej = 0;
  for (const auto& x : s) {
    if (x.gold < 0) ++n_ood; else ++n_in;
    if (x.predicted < 0) {
      rej += (x.gold < 0);
      continue;
    }
    acc.push_back(&x);
    ok += (x.gold >= 0 && x.predicted == x.gold);
  }
  std::sort(acc.begin(), acc.end(), [](const Scored* a, const Scored* b) { return a->score < b->score; });
  auto point = [&](float t) {
    CurvePoint p;
    p.threshold = t;
    p.in_domain_accuracy = n_in ? static_cast<double>(ok) / n_in : 0.0;
    p.ood_recall = n_ood ? static_cast<double>(rej) / n_ood : 0.0;
    p.gqr = harmonic_mean(p.in_domain_accuracy, p.ood_recall);
    return p;
  };
  std::vector<CurvePoint> out;
  const float lowest = acc.empty() ? 0.0f : acc.front()->score;
  out.push_back(point(acc.empty() ? 0.0f : std::nextafter(lowest, -std::numeric_limits<float>::infinity())));
  for (size_t k = 0; k < acc.size();) {
    const float v = acc[k]->score;
    while (k < acc.size() && acc[k]->score == v) {  // reject everything scoring v
      const Scored& x = *acc[k];
      if (x.gold < 0) ++rej;
      else if (x.predicted == x.gold) --ok;
      ++k;
    }
    // threshold halfway to the next score (or just above v at the end)
    const float t = k < acc.size() ? v + (acc[k]->score - v) * 0.5f
                                   : std::nextafter(v, std::numeric_limits<float>::infinity());
    out.push_back(point(t));
  }
  return out;
}

CurvePoint calibrate(const std::vector<Scored>& s, double min_ood_recall) {
  const auto curve = sweep(s);
  bool any_ood = std::any_of(s.begin(), s.end(), [](const Scored& x) { return x.gold < 0; });
  if (!any_ood) return curve.front();
  if (min_ood_recall > 0) {
    for (const auto& p : curve)  // recall rises and accuracy falls along the sweep
      if (p.ood_recall >= min_ood_recall) return p;
    return curve.back();
  }
  CurvePoint best = curve.front();
  for (const auto& p : curve)
    if (p.gqr > best.gqr) best = p;
  return best;
}

std::vector<CurvePoint> thin_curve(const std::vector<CurvePoint>& curve, size_t n) {
  if (curve.size() <= n || n < 2) return curve;
  std::vector<CurvePoint> out;
  for (size_t i = 0; i < n; ++i) out.push_back(curve[i * (curve.size() - 1) / (n - 1)]);
  return out;
}

nlohmann::json point_to_json(const CurvePoint& p) {
  return {{"threshold", p.threshold},
          {"in_domain_accuracy", p.in_domain_accuracy},
          {"ood_recall", p.ood_recall},
          {"gqr_score", p.gqr}};
}

nlohmann::json curve_to_json(const std::vector<CurvePoint>& curve) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : curve) a.push_back(point_to_json(p));
  return a;
}

}  // namespace chorus::router
