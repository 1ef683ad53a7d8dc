// A description of the machine for benchmark JSON: CPU, cores, ISA, memory.
#pragma once

#include <nlohmann/json.hpp>

namespace chorus::cli {

nlohmann::json machine_info();

}  // namespace chorus::cli
