// Writing a response: a JSON body, or an ApiError as OpenAI's error object
// (with Retry-After on 429 and 503).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tools/serve/api_error.h"

namespace chorus::serve {

void reply_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void reply_error(httplib::Response& res, const ApiError& error);

}  // namespace chorus::serve
