#include "models/model_file.h"

#include <cstdio>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/file_kind.h"

namespace chorus::models {

const TensorInfo* ModelFile::find_tensor(std::string_view n) const {
  for (const TensorInfo& t : tensors)
    if (t.name == n) return &t;
  return nullptr;
}

const TensorInfo& ModelFile::tensor(std::string_view n) const {
  const TensorInfo* t = find_tensor(n);
  if (!t) throw Error(ErrorCode::kNotFound, fmt::format("{}: tensor '{}': missing", path, n));
  return *t;
}

uint64_t ModelFile::tensor_bytes() const {
  uint64_t total = 0;
  for (const TensorInfo& t : tensors) total += t.bytes;
  return total;
}

ModelFile open_model_file(const std::string& path) {
  require_regular_file(path, "model");  // a missing file is kNotFound, a directory or a pipe is refused by name
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open", path));
  char magic[4] = {};
  size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  if (n == 4 && std::string_view(magic, 4) == "GGUF") return open_gguf_model(path);
  return open_llama2c_model(path);
}

}  // namespace chorus::models
