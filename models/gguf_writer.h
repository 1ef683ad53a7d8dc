// GGUF v3 writer: metadata of every value type and tensors with their raw
// bytes, laid out with `general.alignment` (32 unless set). Used by tests to
// craft files and by tools that make model files.
//
// The writer only produces valid files: it rejects duplicate keys and tensor
// names, bad dimensions, data of the wrong size and alignments that are not
// powers of two. Tests that need a broken file patch the bytes afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/ggml_types.h"
#include "models/gguf.h"

namespace chorus::models {

class GgufWriter {
 public:
  GgufWriter() = default;

  // Scalars. Any integer-typed "general.alignment" also sets the data alignment.
  void add_uint8(std::string_view key, uint8_t v);
  void add_int8(std::string_view key, int8_t v);
  void add_uint16(std::string_view key, uint16_t v);
  void add_int16(std::string_view key, int16_t v);
  void add_uint32(std::string_view key, uint32_t v);
  void add_int32(std::string_view key, int32_t v);
  void add_uint64(std::string_view key, uint64_t v);
  void add_int64(std::string_view key, int64_t v);
  void add_float32(std::string_view key, float v);
  void add_float64(std::string_view key, double v);
  void add_bool(std::string_view key, bool v);
  void add_string(std::string_view key, std::string_view v);

  // Arrays of one scalar type (the element type follows from T) or of strings.
  template <typename T>
  void add_array(std::string_view key, std::span<const T> items);
  template <typename T>
  void add_array(std::string_view key, const std::vector<T>& items) { add_array(key, std::span<const T>(items)); }
  void add_bool_array(std::string_view key, const std::vector<bool>& items);
  void add_string_array(std::string_view key, const std::vector<std::string>& items);

  // dims[0] is the row length. data must hold exactly the bytes that dims and type imply.
  void add_tensor(std::string_view name, std::vector<int64_t> dims, kernels::GgmlType type, std::vector<uint8_t> data);

  uint64_t alignment() const { return alignment_; }
  std::vector<uint8_t> bytes() const;      // the whole file in memory
  void write(const std::string& path) const;  // throws chorus::Error (kIo)

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    kernels::GgmlType type;
    std::vector<uint8_t> data;
  };

  // Starts a key-value pair: checks the key is new and writes key + type.
  void begin_kv(std::string_view key, GgufValueType type);
  template <typename T>
  void add_integer(std::string_view key, T v);
  void emit(const std::function<void(const void*, size_t)>& sink) const;

  std::vector<uint8_t> kv_;  // the serialised metadata pairs, in the order added
  uint64_t kv_count_ = 0;
  std::set<std::string, std::less<>> keys_;
  std::vector<Tensor> tensors_;
  std::set<std::string, std::less<>> tensor_names_;
  uint64_t alignment_ = 32;
};

}  // namespace chorus::models
