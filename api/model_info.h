// A loaded model described in public terms (chorus::ModelInfo).
#pragma once

#include <string>

#include "api/model_options.h"
#include "chorus/model.h"
#include "runtime/loaded_model.h"

namespace chorus::api {

// `kernels`: what the model runs on (a Composer's expert may choose its own activations).
ModelInfo model_info(const runtime::LoadedModel& m, const std::string& path, int32_t context,
                     const RuntimeSettings& settings, const kernels::KernelConfig& kernels);

}  // namespace chorus::api
