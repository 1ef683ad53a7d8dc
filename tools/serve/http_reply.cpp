#include "tools/serve/http_reply.h"

namespace chorus::serve {

void reply_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, const ApiError& error) {
  if (error.status() == 429 || error.status() == 503) res.set_header("Retry-After", "1");
  reply_json(res, error.body(), error.status());
}

}  // namespace chorus::serve
