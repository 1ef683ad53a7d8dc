#include "runtime/llama2c_tokenizer_path.h"

#include <filesystem>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::runtime {

std::string find_llama2c_tokenizer(const models::ModelFile& f) {
  const auto dir = std::filesystem::path(f.path).parent_path();
  for (const std::string& name : {std::string("tokenizer.bin"), fmt::format("tok{}.bin", f.config.vocab_size)}) {
    auto p = dir / name;
    if (std::filesystem::is_regular_file(p)) return p.string();
  }
  throw Error(ErrorCode::kNotFound,
              fmt::format("{}: a llama2.c checkpoint needs a tokenizer: pass --tokenizer (none of tokenizer.bin, "
                          "tok{}.bin is beside the model)", f.path, f.config.vocab_size));
}

}  // namespace chorus::runtime
