#include "tools/serve/api_error.h"

#include <utility>

namespace chorus::serve {

ApiError::ApiError(int status, std::string message, std::string param, std::string code)
    : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

std::string ApiError::type() const {
  switch (status_) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return status_ < 500 ? "invalid_request_error" : "server_error";
  }
}

nlohmann::json ApiError::body() const {
  auto nullable = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error", {{"message", what()}, {"type", type()}, {"param", nullable(param_)}, {"code", nullable(code_)}}}};
}

ApiError api_error_from(const chorus::Error& e, const std::string& param) {
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
    case ErrorCode::kFormat: return ApiError(400, e.what(), param, error_code_name(e.code()));
    case ErrorCode::kNotFound: return ApiError(404, e.what(), param, "not_found");
    case ErrorCode::kResourceExhausted: return ApiError(503, e.what(), "", "resource_exhausted");
    case ErrorCode::kCancelled: return ApiError(499, e.what(), "", "cancelled");
    default: return ApiError(500, e.what(), "", error_code_name(e.code()));
  }
}

}  // namespace chorus::serve
