#include "models/json_text.h"

#include <nlohmann/json.hpp>

namespace chorus::models {

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace chorus::models
