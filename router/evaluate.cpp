#include "router/evaluate.h"

#include <algorithm>
#include <chrono>

#include "router/trainer.h"

namespace chorus::router {

EvalResult evaluate_router(const RouterModel& m, const std::vector<Example>& ex, bool time_queries, int repeats) {
  EvalResult r;
  const auto scored = score_examples(m, ex, m.guard.score);
  for (const auto& s : scored) (s.gold < 0 ? r.n_ood : r.n_in_domain)++;
  r.at_threshold = measure(scored, m.guard.threshold);
  r.curve = sweep(scored);
  r.at_ood_recall_85 = calibrate(scored, 0.85);
  if (time_queries && !ex.empty()) {
    std::vector<double> ms;
    ms.reserve(ex.size());
    volatile int sink = 0;
    for (const auto& e : ex) {  // warm-up pass over a few queries
      sink = sink + m.predict(e.text).category;
      if (&e - ex.data() > 50) break;
    }
    for (const auto& e : ex) {
      double best = 1e30;
      for (int k = 0; k < std::max(1, repeats); ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto p = m.predict(e.text);
        const auto t1 = std::chrono::steady_clock::now();
        sink = sink + p.category;
        best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      ms.push_back(best);
    }
    std::sort(ms.begin(), ms.end());
    auto q = [&](double f) { return ms[std::min(ms.size() - 1, static_cast<size_t>(f * (ms.size() - 1) + 0.5))]; };
    r.p50_ms = q(0.50);
    r.p99_ms = q(0.99);
    double sum = 0;
    for (double x : ms) sum += x;
    r.mean_ms = sum / ms.size();
  }
  return r;
}

nlohmann::json EvalResult::to_json(size_t curve_points) const {
  nlohmann::json j = {{"in_domain_accuracy", at_threshold.in_domain_accuracy},
                      {"ood_recall", at_threshold.ood_recall},
                      {"gqr_score", at_threshold.gqr},
                      {"threshold", at_threshold.threshold},
                      {"p50_ms", p50_ms},
                      {"p99_ms", p99_ms},
                      {"mean_ms", mean_ms},
                      {"n_in_domain", n_in_domain},
                      {"n_ood", n_ood},
                      {"timing", "per query, one thread, fastest of repeated runs"}};
  // The lowest threshold rejects nothing but what the explicit OOD class wins (max_prob / energy scores).
  if (!curve.empty()) j["lowest_threshold"] = point_to_json(curve.front());
  if (n_ood > 0) j["at_ood_recall_85"] = point_to_json(at_ood_recall_85);
  if (n_ood == 0) j["ood_recall"] = j["gqr_score"] = nullptr;  // undefined without OOD queries
  if (curve_points > 0) j["curve"] = curve_to_json(thin_curve(curve, curve_points));
  return j;
}

}  // namespace chorus::router
