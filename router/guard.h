// The out-of-domain guard: a confidence score per query, a threshold below
// which the query is out of domain, calibration of that threshold on labelled
// validation data (maximising the GQR score, the harmonic mean of in-domain
// accuracy and out-of-domain recall), and the trade-off curve between them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace chorus::router {

enum class GuardScore {
  kMaxProb,  // max over categories of the summed softmax probability of their labels
  kEnergy,   // logsumexp of the in-domain logits (free energy, negated)
  kMargin,   // max_prob minus the explicit out-of-domain class's probability; with this
             // score the OOD class does not win by argmax, the threshold alone decides
};

const char* guard_score_name(GuardScore s);
GuardScore parse_guard_score(const std::string& name);  // throws chorus::Error

struct GuardConfig {
  GuardScore score = GuardScore::kMaxProb;
  float threshold = 0.0f;  // score < threshold → out of domain
  nlohmann::json to_json() const;
  static GuardConfig from_json(const nlohmann::json& j);
};

// One scored query. predicted = -1 when the explicit out-of-domain class won.
// gold = -1 for an out-of-domain query.
struct Scored {
  int predicted = -1;
  float score = 0.0f;
  int gold = -1;
};

struct CurvePoint {
  float threshold = 0.0f;
  double in_domain_accuracy = 0.0;  // correct and accepted / in-domain queries
  double ood_recall = 0.0;          // rejected / out-of-domain queries
  double gqr = 0.0;                 // harmonic mean of the two
};

double harmonic_mean(double a, double b);
CurvePoint measure(const std::vector<Scored>& s, float threshold);
// Every distinct operating point, thresholds ascending (the first rejects nothing
// but explicit out-of-domain predictions).
std::vector<CurvePoint> sweep(const std::vector<Scored>& s);
// The point with the best GQR (ties → the lower threshold); if there are no
// out-of-domain queries, the threshold that rejects nothing.
// With min_ood_recall > 0: instead the most accurate point whose OOD recall is at
// least that (the highest-recall point if none reaches it).
CurvePoint calibrate(const std::vector<Scored>& s, double min_ood_recall = 0.0);
// At most n points of a sweep, evenly spaced, always with the ends.
std::vector<CurvePoint> thin_curve(const std::vector<CurvePoint>& curve, size_t n);
nlohmann::json point_to_json(const CurvePoint& p);  // {threshold, in_domain_accuracy, ood_recall, gqr_score}
nlohmann::json curve_to_json(const std::vector<CurvePoint>& curve);

}  // namespace chorus::router
