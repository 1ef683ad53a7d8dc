#include "models/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::models {

namespace {

constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" read as a little-endian uint32
constexpr uint32_t kVersion = 3;
constexpr size_t kMaxDims = 4;

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void append_string(std::vector<uint8_t>& out, std::string_view s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

[[noreturn]] void invalid(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, "gguf writer: " + what); }

template <typename T> constexpr GgufValueType value_type_of();
template <> constexpr GgufValueType value_type_of<uint8_t>() { return GgufValueType::UINT8; }
template <> constexpr GgufValueType value_type_of<int8_t>() { return GgufValueType::INT8; }
template <> constexpr GgufValueType value_type_of<uint16_t>() { return GgufValueType::UINT16; }
template <> constexpr GgufValueType value_type_of<int16_t>() { return GgufValueType::INT16; }
template <> constexpr GgufValueType value_type_of<uint32_t>() { return GgufValueType::UINT32; }
template <> constexpr GgufValueType value_type_of<int32_t>() { return GgufValueType::INT32; }
template <> constexpr GgufValueType value_type_of<uint64_t>() { return GgufValueType::UINT64; }
template <> constexpr GgufValueType value_type_of<int64_t>() { return GgufValueType::INT64; }
template <> constexpr GgufValueType value_type_of<float>() { return GgufValueType::FLOAT32; }
template <> constexpr GgufValueType value_type_of<double>() { return GgufValueType::FLOAT64; }

bool is_integer_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16: case GgufValueType::INT16:
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::UINT64: case GgufValueType::INT64:
      return true;
    default:
      return false;
  }
}

// The reader accepts powers of two up to 1 MiB; the writer makes nothing it would refuse.
template <typename T>
uint64_t checked_alignment(T v) {
  if (v <= 0 || static_cast<uint64_t>(v) > (uint64_t{1} << 20) || (static_cast<uint64_t>(v) & (static_cast<uint64_t>(v) - 1)) != 0)
    invalid(fmt::format("general.alignment {} is not a power of two up to 1 MiB", v));
  return static_cast<uint64_t>(v);
}

}  // namespace

void GgufWriter::begin_kv(std::string_view key, GgufValueType type) {
  if (keys_.count(key)) invalid(fmt::format("duplicate metadata key '{}'", key));
  if (key == "general.alignment" && !is_integer_type(type)) invalid("general.alignment must be an integer");
  keys_.emplace(key);
  ++kv_count_;
  append_string(kv_, key);
  append(kv_, static_cast<uint32_t>(type));
}

template <typename T>
void GgufWriter::add_integer(std::string_view key, T v) {
  uint64_t alignment = key == "general.alignment" ? checked_alignment(v) : alignment_;
  begin_kv(key, value_type_of<T>());
  append(kv_, v);
  alignment_ = alignment;
}

void GgufWriter::add_uint8(std::string_view key, uint8_t v) { add_integer(key, v); }
void GgufWriter::add_int8(std::string_view key, int8_t v) { add_integer(key, v); }
void GgufWriter::add_uint16(std::string_view key, uint16_t v) { add_integer(key, v); }
void GgufWriter::add_int16(std::string_view key, int16_t v) { add_integer(key, v); }
void GgufWriter::add_uint32(std::string_view key, uint32_t v) { add_integer(key, v); }
void GgufWriter::add_int32(std::string_view key, int32_t v) { add_integer(key, v); }
void GgufWriter::add_uint64(std::string_view key, uint64_t v) { add_integer(key, v); }
void GgufWriter::add_int64(std::string_view key, int64_t v) { add_integer(key, v); }
void GgufWriter::add_float32(std::string_view key, float v) {
  begin_kv(key, GgufValueType::FLOAT32);
  append(kv_, v);
}
void GgufWriter::add_float64(std::string_view key, double v) {
  begin_kv(key, GgufValueType::FLOAT64);
  append(kv_, v);
}
void GgufWriter::add_bool(std::string_view key, bool v) {
  begin_kv(key, GgufValueType::BOOL);
  append<uint8_t>(kv_, v ? 1 : 0);
}
void GgufWriter::add_string(std::string_view key, std::string_view v) {
  begin_kv(key, GgufValueType::STRING);
  append_string(kv_, v);
}

template <typename T>
void GgufWriter::add_array(std::string_view key, std::span<const T> items) {
  begin_kv(key, GgufValueType::ARRAY);
  append(kv_, static_cast<uint32_t>(value_type_of<T>()));
  append<uint64_t>(kv_, items.size());
  for (T v : items) append(kv_, v);
}
template void GgufWriter::add_array(std::string_view, std::span<const uint8_t>);
template void GgufWriter::add_array(std::string_view, std::span<const int8_t>);
template void GgufWriter::add_array(std::string_view, std::span<const uint16_t>);
template void GgufWriter::add_array(std::string_view, std::span<const int16_t>);
template void GgufWriter::add_array(std::string_view, std::span<const uint32_t>);
template void GgufWriter::add_array(std::string_view, std::span<const int32_t>);
template void GgufWriter::add_array(std::string_view, std::span<const uint64_t>);
template void GgufWriter::add_array(std::string_view, std::span<const int64_t>);
template void GgufWriter::add_array(std::string_view, std::span<const float>);
template void GgufWriter::add_array(std::string_view, std::span<const double>);

void GgufWriter::add_bool_array(std::string_view key, const std::vector<bool>& items) {
  begin_kv(key, GgufValueType::ARRAY);
  append(kv_, static_cast<uint32_t>(GgufValueType::BOOL));
  append<uint64_t>(kv_, items.size());
  for (bool v : items) append<uint8_t>(kv_, v ? 1 : 0);
}

void GgufWriter::add_string_array(std::string_view key, const std::vector<std::string>& items) {
  begin_kv(key, GgufValueType::ARRAY);
  append(kv_, static_cast<uint32_t>(GgufValueType::STRING));
  append<uint64_t>(kv_, items.size());
  for (const std::string& s : items) append_string(kv_, s);
}

void GgufWriter::add_tensor(std::string_view name, std::vector<int64_t> dims, kernels::GgmlType type,
                            std::vector<uint8_t> data) {
  if (tensor_names_.count(name)) invalid(fmt::format("duplicate tensor name '{}'", name));
  const kernels::TypeTraits* traits = kernels::type_traits(static_cast<uint32_t>(type));
  if (!traits) invalid(fmt::format("tensor '{}': unknown type {}", name, static_cast<uint32_t>(type)));
  if (dims.empty() || dims.size() > kMaxDims) invalid(fmt::format("tensor '{}': {} dimensions", name, dims.size()));
  uint64_t elements = 1;
  for (int64_t d : dims) {
    if (d <= 0) invalid(fmt::format("tensor '{}': dimension {}", name, d));
    elements *= static_cast<uint64_t>(d);
  }
  if (dims[0] % traits->block_elems != 0)
    invalid(fmt::format("tensor '{}': row length {} is not a multiple of {}", name, dims[0], traits->block_elems));
  uint64_t expected = elements / traits->block_elems * traits->block_bytes;
  if (data.size() != expected)
    invalid(fmt::format("tensor '{}': {} bytes of data, {} {} elements take {}", name, data.size(), elements,
                        traits->name, expected));
  tensor_names_.emplace(name);
  tensors_.push_back(Tensor{std::string(name), std::move(dims), type, std::move(data)});
}

void GgufWriter::emit(const std::function<void(const void*, size_t)>& sink) const {
  std::vector<uint8_t> header;
  append(header, kMagic);
  append(header, kVersion);
  append<uint64_t>(header, tensors_.size());
  append<uint64_t>(header, kv_count_);
  header.insert(header.end(), kv_.begin(), kv_.end());
  // Tensor offsets are relative to the data section, each aligned.
  std::vector<uint64_t> offsets;
  uint64_t data_size = 0;
  for (const Tensor& t : tensors_) {
    uint64_t offset = align_up(data_size, alignment_);
    offsets.push_back(offset);
    data_size = offset + t.data.size();
    append_string(header, t.name);
    append<uint32_t>(header, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) append<uint64_t>(header, static_cast<uint64_t>(d));
    append<uint32_t>(header, static_cast<uint32_t>(t.type));
    append<uint64_t>(header, offset);
  }
  header.resize(align_up(header.size(), alignment_), 0);
  sink(header.data(), header.size());

  const std::vector<uint8_t> zeros(alignment_, 0);
  uint64_t written = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    sink(zeros.data(), offsets[i] - written);
    sink(tensors_[i].data.data(), tensors_[i].data.size());
    written = offsets[i] + tensors_[i].data.size();
  }
}

std::vector<uint8_t> GgufWriter::bytes() const {
  std::vector<uint8_t> out;
  emit([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  });
  return out;
}

void GgufWriter::write(const std::string& path) const {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw Error(ErrorCode::kIo, fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  emit([&](const void* p, size_t n) {
    if (n > 0 && std::fwrite(p, 1, n, f.get()) != n)
      throw Error(ErrorCode::kIo, fmt::format("{}: write failed: {}", path, std::strerror(errno)));
  });
  if (std::fclose(f.release()) != 0) throw Error(ErrorCode::kIo, fmt::format("{}: close failed: {}", path, std::strerror(errno)));
}

}  // namespace chorus::models
