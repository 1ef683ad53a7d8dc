#include "chorus/router.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/file_kind.h"
#include "router/router_file.h"
#include "router/router_model.h"

namespace chorus {

ExpertMap ExpertMap::parse(std::string_view json_text, const std::string& name) {
  ExpertMap m;
  try {
    const auto j = nlohmann::json::parse(json_text);
    if (!j.is_object()) throw Error(ErrorCode::kFormat, fmt::format("{}: expert map must be a JSON object", name));
    if (!j.contains("experts") || !j["experts"].is_object())
      throw Error(ErrorCode::kFormat, fmt::format("{}: expert map needs an \"experts\" object", name));
    for (auto& [cat, ex] : j["experts"].items()) {
      if (!ex.is_string() || ex.get<std::string>().empty())
        throw Error(ErrorCode::kFormat, fmt::format("{}: experts[\"{}\"] must be a non-empty string", name, cat));
      m.experts[cat] = ex.get<std::string>();
    }
    m.fallback = j.value("fallback", std::string());
    const std::string policy = j.value("on_out_of_domain", m.fallback.empty() ? "refuse" : "fallback");
    if (policy == "refuse") m.refuse = true;
    else if (policy == "fallback") m.refuse = false;
    else throw Error(ErrorCode::kFormat, fmt::format("{}: on_out_of_domain must be \"fallback\" or \"refuse\", not \"{}\"", name, policy));
    if (!m.refuse && m.fallback.empty())
      throw Error(ErrorCode::kFormat, fmt::format("{}: on_out_of_domain is \"fallback\" but no fallback expert is named", name));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kFormat, fmt::format("{}: {}", name, e.what()));
  }
  return m;
}

ExpertMap ExpertMap::load(const std::string& path) {
  return parse(models::read_whole_file(path, "expert map"), path);
}

RouteDecision apply_experts(RouteDecision d, const ExpertMap& experts) {
  d.expert.clear();
  d.fallback = d.refused = false;
  if (!d.out_of_domain) {
    auto it = experts.experts.find(d.category);
    if (it != experts.experts.end()) {
      d.expert = it->second;
      return d;
    }
  }
  if (experts.refuse) d.refused = true;
  else d.expert = experts.fallback, d.fallback = true;
  return d;
}

Router::Router() = default;
Router::Router(std::shared_ptr<const router::RouterModel> model) : model_(std::move(model)) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::Router(const Router&) = default;
Router& Router::operator=(const Router&) = default;

Router Router::load(const std::string& path) {
  return Router(std::make_shared<const router::RouterModel>(router::load_router(path)));
}

RouteDecision Router::classify(std::string_view text) const {
  if (!model_) throw Error(ErrorCode::kInvalidArgument, "router: no model loaded");
  const auto p = model_->predict(text);
  RouteDecision d;
  if (p.category >= 0) d.category = model_->categories[p.category];
  d.confidence = p.probability;
  d.score = p.score;
  d.out_of_domain = p.out_of_domain;
  return d;
}

RouteDecision Router::route(std::string_view text, const ExpertMap& experts) const {
  return apply_experts(classify(text), experts);
}

const std::vector<std::string>& Router::categories() const {
  if (!model_) throw Error(ErrorCode::kInvalidArgument, "router: no model loaded");
  return model_->categories;
}

}  // namespace chorus
