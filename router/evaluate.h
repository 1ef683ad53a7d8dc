// Evaluates a router on labelled examples: in-domain accuracy (a rejected
// in-domain query counts as wrong), out-of-domain recall, their harmonic mean
// (the GQR score), per-query latency on the calling thread, and the trade-off
// curve across guard thresholds.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "router/datasets.h"
#include "router/guard.h"
#include "router/router_model.h"

namespace chorus::router {

struct EvalResult {
  CurvePoint at_threshold;        // with the router's calibrated threshold
  std::vector<CurvePoint> curve;  // full sweep
  CurvePoint at_ood_recall_85;    // the most accurate threshold that rejects >= 85 % of the OOD queries
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  size_t n_in_domain = 0, n_ood = 0;
  nlohmann::json to_json(size_t curve_points) const;
};

// time_queries: time each full route (features + classifier + guard) alone,
// `repeats` times; a query's latency is the fastest of its repeats, so that a
// preemption by another process on a shared machine does not count as routing time.
EvalResult evaluate_router(const RouterModel& m, const std::vector<Example>& ex, bool time_queries = true,
                           int repeats = 3);

}  // namespace chorus::router
