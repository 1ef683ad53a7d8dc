// libFuzzer target for the experts config (configs/default.json's format)
// through its real parser and validator, parse_expert_registry: any input must
// load or throw chorus::Error. Relative model paths resolve against a folder
// that holds the small real models when CHORUS_FUZZ_MODEL_DIR names one (so
// configs that pass the parser reach the model and tokenizer checks), else
// against a folder that does not exist.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chorus/error.h"
#include "runtime/expert_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = [] {
    const char* dir = std::getenv("CHORUS_FUZZ_MODEL_DIR");
    return std::string(dir && *dir ? dir : "/nonexistent-chorus-fuzz");
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const chorus::runtime::ExpertRegistry r = chorus::runtime::parse_expert_registry(text, "fuzz.json", base);
    // A registry that loads is consistent: its named experts exist.
    if (!r.fallback_expert.empty() && !r.find(r.fallback_expert)) __builtin_trap();
    if (!r.planner_expert.empty() && !r.find(r.planner_expert)) __builtin_trap();
    if (r.experts.empty()) __builtin_trap();
  } catch (const chorus::Error&) {
  }
  return 0;
}
