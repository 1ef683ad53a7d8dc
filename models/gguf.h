// GGUF v2/v3 reader over a read-only mapping. Every offset and count is
// checked against the file before it is used; errors name the file, the
// offset and the field.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kernels/ggml_types.h"
#include "models/mapped_file.h"

namespace chorus::models {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_value_type_name(GgufValueType t);

struct GgufValue;
struct GgufArray {
  GgufValueType elem_type;
  std::vector<GgufValue> items;
};

struct GgufValue {
  GgufValueType type;
  // Integers of every width are kept as int64/uint64; strings view into the mapping.
  std::variant<uint64_t, int64_t, double, bool, std::string_view, std::shared_ptr<GgufArray>> v;

  bool is_integer() const;
  bool is_float() const { return type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64; }
  std::string to_string(size_t max_items = 8) const;  // for inspect
};

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;  // dims[0] varies fastest (a row's length)
  kernels::GgmlType type;
  uint64_t offset;            // relative to the data section
  uint64_t bytes;
  const uint8_t* data;        // into the mapping
  int64_t elements() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws chorus::Error

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size() const { return file_->size(); }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters: throw a format error naming the key when it is missing or of the wrong type.
  uint64_t get_uint(std::string_view key) const;
  uint64_t get_uint(std::string_view key, uint64_t fallback) const;
  double get_float(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& fallback) const;
  const GgufArray& get_array(std::string_view key, GgufValueType elem) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const;
  const GgufTensor& tensor(std::string_view name) const;  // throws kNotFound

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace chorus::models
