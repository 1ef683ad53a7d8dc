// Where a llama2.c checkpoint's tokenizer is when none is named: tokenizer.bin
// or tok<vocab>.bin beside the model (as llama2.c's run.c and its tok512.bin).
#pragma once

#include <string>

#include "models/model_file.h"

namespace chorus::runtime {

// Throws chorus::Error (kNotFound) naming both candidates when neither exists.
std::string find_llama2c_tokenizer(const models::ModelFile& f);

}  // namespace chorus::runtime
