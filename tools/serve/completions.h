// POST /v1/chat/completions and /v1/completions: an expert's answer (whole or
// streamed as server-sent events), or the composition's when the model is "chorus".
#pragma once

#include <httplib.h>

#include "tools/serve/serve_context.h"

namespace chorus::serve {

// Throws ApiError for what is refused before anything runs.
void handle_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res, bool chat);

}  // namespace chorus::serve
