// A model file opened read-only: GGUF, or a llama2.c checkpoint. Tensors are
// views into the mapping under GGUF names and GGUF dimension order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/ggml_types.h"
#include "models/llama_config.h"

namespace chorus::models {

class GgufFile;
class MappedFile;

struct TensorInfo {
  std::string name;
  kernels::GgmlType type;
  std::vector<int64_t> dims;  // dims[0] is the row length
  uint64_t file_offset;
  uint64_t bytes;
  const uint8_t* data;
};

struct ModelFile {
  std::string path;
  std::string format;        // "gguf" or "llama2c"
  std::string architecture;  // e.g. "llama"
  std::string name;          // general.name when the file has one
  LlamaConfig config;
  bool tied_output = false;  // the classifier reuses the token embedding
  std::vector<TensorInfo> tensors;
  std::shared_ptr<const GgufFile> gguf;        // set for GGUF files
  std::shared_ptr<const MappedFile> mapping;   // set for llama2.c files

  const TensorInfo* find_tensor(std::string_view name) const;
  const TensorInfo& tensor(std::string_view name) const;  // throws kNotFound naming the file
  uint64_t tensor_bytes() const;
};

// Detects the format from the first bytes; throws chorus::Error naming the file and field.
ModelFile open_model_file(const std::string& path);
ModelFile open_gguf_model(const std::string& path);
ModelFile open_llama2c_model(const std::string& path);

}  // namespace chorus::models
