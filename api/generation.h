// One generation on a served engine, as the public API promises it: sampling
// and grammar checked, stop strings cut, the caller's callback streamed on its
// own thread, the result in public types. Shared by Model and Composer.
#pragma once

#include <vector>

#include "api/served_engine.h"
#include "chorus/model.h"

namespace chorus::api {

GenerateResult run_generation(ServedEngine& engine, std::vector<int32_t> prompt, const GenerateParams& params,
                              int32_t dropped_prompt_tokens = 0);

}  // namespace chorus::api
