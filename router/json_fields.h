// Checked reads of numbers from untrusted JSON (router files): integers must be
// JSON integers within range (a float such as 1e300 is rejected, never cast),
// and reals must be finite and fit a float. Failures are chorus::Error(kFormat).
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"

namespace chorus::router {

inline const nlohmann::json& json_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    throw Error(ErrorCode::kFormat, fmt::format("{}: missing field '{}'", where, key));
  return j.at(key);
}

inline int64_t json_int_value(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what) {
  int64_t x;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) throw Error(ErrorCode::kFormat, fmt::format("{}: {} is out of range", what, u));
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    throw Error(ErrorCode::kFormat, fmt::format("{}: expected an integer, found {}", what, v.type_name()));
  }
  if (x < lo || x > hi) throw Error(ErrorCode::kFormat, fmt::format("{}: {} is outside [{}, {}]", what, x, lo, hi));
  return x;
}

inline int64_t json_int(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, const std::string& where) {
  return json_int_value(json_field(j, key, where), lo, hi, fmt::format("{}: field '{}'", where, key));
}

inline float json_float(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto& v = json_field(j, key, where);
  if (!v.is_number()) throw Error(ErrorCode::kFormat, fmt::format("{}: field '{}' is not a number", where, key));
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > FLT_MAX)
    throw Error(ErrorCode::kFormat, fmt::format("{}: field '{}' is not a finite float", where, key));
  return static_cast<float>(d);
}

inline bool json_bool(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto& v = json_field(j, key, where);
  if (!v.is_boolean()) throw Error(ErrorCode::kFormat, fmt::format("{}: field '{}' is not a boolean", where, key));
  return v.get<bool>();
}

inline std::string json_string(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto& v = json_field(j, key, where);
  if (!v.is_string()) throw Error(ErrorCode::kFormat, fmt::format("{}: field '{}' is not a string", where, key));
  return v.get<std::string>();
}

}  // namespace chorus::router
