// The OpenAI-style error object every failed request gets:
// {"error": {"message", "type", "param", "code"}} with the HTTP status it goes with.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "chorus/error.h"

namespace chorus::serve {

class ApiError : public std::runtime_error {
 public:
  // `param` names the request field at fault ("" = none); `code` is a short
  // machine-readable reason ("" = none).
  ApiError(int status, std::string message, std::string param = "", std::string code = "");

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // OpenAI's error types: invalid_request_error, authentication_error, not_found_error, ...
  std::string type() const;
  nlohmann::json body() const;

 private:
  int status_;
  std::string param_;
  std::string code_;
};

// A chorus::Error raised while serving a request, as the error its client gets
// (a bad grammar is the client's 400, an internal failure the server's 500).
ApiError api_error_from(const chorus::Error& e, const std::string& param = "");

}  // namespace chorus::serve
