// chorus::Router — the guarded two-step router (ARCHITECTURE: router/).
// Step 1: a classifier maps text to a category, with an out-of-domain guard.
// Step 2: an ExpertMap sends the category to an expert; queries the guard
// rejects (or whose category has no expert) go to the fallback expert or are
// refused, per the map's policy.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chorus/export.h"

namespace chorus {

namespace router {
struct RouterModel;
}

struct RouteDecision {
  std::string category;       // best in-domain category (even when rejected), "" if none
  std::string expert;         // chosen expert, "" when refused or no map given
  float confidence = 0.0f;    // probability of `category`
  float score = 0.0f;         // the guard's score (max_prob or energy)
  bool out_of_domain = false; // the guard rejected the query
  bool fallback = false;      // routed to the fallback expert
  bool refused = false;       // no expert will answer
};

// JSON: {"experts": {"category": "expert", ...},
//        "fallback": "expert-name",            (optional)
//        "on_out_of_domain": "fallback"|"refuse"  (default: fallback if a fallback is named, else refuse)}
struct CHORUS_API ExpertMap {
  std::map<std::string, std::string> experts;
  std::string fallback;
  bool refuse = true;  // out-of-domain / unmapped → refuse (false → fallback expert)

  static ExpertMap parse(std::string_view json_text, const std::string& name = "experts");  // throws chorus::Error
  static ExpertMap load(const std::string& path);
};

class CHORUS_API Router {
 public:
  Router();
  explicit Router(std::shared_ptr<const router::RouterModel> model);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&);
  Router& operator=(const Router&);

  static Router load(const std::string& path);  // throws chorus::Error on a bad file

  // Step 1 only: category and guard verdict.
  RouteDecision classify(std::string_view text) const;
  // Both steps.
  RouteDecision route(std::string_view text, const ExpertMap& experts) const;

  const std::vector<std::string>& categories() const;
  const router::RouterModel& model() const { return *model_; }

 private:
  std::shared_ptr<const router::RouterModel> model_;
};

// Step 2 alone: applies an expert map to a step-1 decision.
RouteDecision apply_experts(RouteDecision d, const ExpertMap& experts);

}  // namespace chorus
