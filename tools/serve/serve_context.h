// What every handler of `chorus serve` shares: the models, the limits, the
// counters, the bounded queue and the watch on clients that hang up.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "tools/serve/admission.h"
#include "tools/serve/backend.h"
#include "tools/serve/disconnect_watch.h"
#include "tools/serve/metrics_text.h"

namespace chorus::serve {

struct ServeLimits {
  int64_t max_queue = 64;             // completion requests admitted at once
  uint64_t max_body_bytes = 1 << 20;  // request body
  int32_t max_prompt_tokens = 0;      // 0: each expert's context
  std::string api_key;                // "" = no authentication
};

// The name under which the composition (route, plan, waves) is served.
inline constexpr const char* kCompositionModel = "chorus";

struct ServeContext {
  ServeContext(Backend& b, ServeLimits l) : backend(b), limits(std::move(l)), admission(limits.max_queue) {}
  Backend& backend;
  const ServeLimits limits;
  ServeCounters counters;
  Admission admission;
  DisconnectWatch disconnects;
};

}  // namespace chorus::serve
