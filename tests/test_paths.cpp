#include "tests/test_paths.h"

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

namespace chorus::test {

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

std::string fixture_dir() { return CHORUS_FIXTURE_DIR; }
std::string model_dir() { return env_or("CHORUS_MODEL_DIR", CHORUS_MODEL_DIR_DEFAULT); }
std::string binary_dir() { return CHORUS_BINARY_DIR; }
std::string reference_dir() { return CHORUS_REFERENCE_DIR; }
std::string source_dir() { return CHORUS_SOURCE_DIR; }
std::string smollm2_path() { return model_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"; }
std::string use_lite_dir() {
  const char* v = std::getenv("CHORUS_USE_LITE_DIR");
  return v && *v ? std::string(v) : model_dir() + "/use-lite";
}

std::string temp_dir(const std::string& name) {
  // Per running test: ctest runs each TEST as its own process, in parallel, so
  // two tests asking for the same name must not share (and wipe) one folder.
  auto dir = std::filesystem::path(binary_dir()) / "test-tmp" / name;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    dir /= std::string(info->test_suite_name()) + "." + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace chorus::test
