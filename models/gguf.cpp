#include "models/gguf.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"

namespace chorus::models {

namespace {

constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxArrayDepth = 4;
constexpr int64_t kMaxDim = int64_t{1} << 40;

// Bounds-checked little-endian cursor over the mapping.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size) : path_(path), data_(data), size_(size) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: {}: {}", path_, pos_, printable(field), what));
  }
  void need(uint64_t n, const char* field) const {
    if (n > size_ - pos_) fail(field, fmt::format("truncated file (need {} bytes, {} left)", n, size_ - pos_));
  }
  template <typename T>
  T read(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view read_string(const char* field) {
    uint64_t n = read<uint64_t>(field);
    need(n, field);
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  size_t size() const { return size_; }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;  // at least its length field
    case GgufValueType::ARRAY: return 12;  // at least type + count
  }
  return 0;
}

GgufValue read_value(Cursor& c, GgufValueType t, const std::string& key, uint64_t depth) {
  GgufValue out{t, uint64_t{0}};
  const char* f = key.c_str();
  switch (t) {
    case GgufValueType::UINT8: out.v = uint64_t{c.read<uint8_t>(f)}; break;
    case GgufValueType::INT8: out.v = int64_t{c.read<int8_t>(f)}; break;
    case GgufValueType::UINT16: out.v = uint64_t{c.read<uint16_t>(f)}; break;
    case GgufValueType::INT16: out.v = int64_t{c.read<int16_t>(f)}; break;
    case GgufValueType::UINT32: out.v = uint64_t{c.read<uint32_t>(f)}; break;
    case GgufValueType::INT32: out.v = int64_t{c.read<int32_t>(f)}; break;
    case GgufValueType::UINT64: out.v = c.read<uint64_t>(f); break;
    case GgufValueType::INT64: out.v = c.read<int64_t>(f); break;
    case GgufValueType::FLOAT32: out.v = double{c.read<float>(f)}; break;
    case GgufValueType::FLOAT64: out.v = c.read<double>(f); break;
    case GgufValueType::BOOL: {
      uint8_t b = c.read<uint8_t>(f);
      if (b > 1) c.fail(key, fmt::format("bool value {} is neither 0 nor 1", b));
      out.v = b != 0;
      break;
    }
    case GgufValueType::STRING: out.v = c.read_string(f); break;
    case GgufValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) c.fail(key, "arrays nested too deeply");
      uint32_t et = c.read<uint32_t>(f);
      if (et > static_cast<uint32_t>(GgufValueType::FLOAT64)) c.fail(key, fmt::format("unknown array element type {}", et));
      uint64_t n = c.read<uint64_t>(f);
      auto elem = static_cast<GgufValueType>(et);
      // Each element needs at least scalar_size bytes: reject absurd counts before allocating.
      if (n > (c.size() - c.pos()) / scalar_size(elem))
        c.fail(key, fmt::format("array count {} cannot fit in the {} bytes left (truncated or corrupt file)", n,
                                c.size() - c.pos()));
      auto arr = std::make_shared<GgufArray>();
      arr->elem_type = elem;
      arr->items.reserve(n);
      for (uint64_t i = 0; i < n; ++i) arr->items.push_back(read_value(c, elem, key, depth + 1));
      out.v = std::move(arr);
      break;
    }
    default: c.fail(key, fmt::format("unknown value type {}", static_cast<uint32_t>(t)));
  }
  return out;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                "bool", "string", "array", "uint64", "int64", "float64"};
  auto i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : "unknown";
}

bool GgufValue::is_integer() const {
  return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v);
}

std::string GgufValue::to_string(size_t max_items) const {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          std::string s(x.substr(0, 200));
          return fmt::format("\"{}\"{}", s, x.size() > 200 ? "..." : "");
        } else if constexpr (std::is_same_v<T, std::shared_ptr<GgufArray>>) {
          std::string s = fmt::format("[{} x {}]", x->items.size(), gguf_value_type_name(x->elem_type));
          for (size_t i = 0; i < x->items.size() && i < max_items; ++i) s += (i ? ", " : " ") + x->items[i].to_string(0);
          if (x->items.size() > max_items && max_items > 0) s += ", ...";
          return s;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else {
          return fmt::format("{}", x);
        }
      },
      v);
}

int64_t GgufTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  Cursor c(path, file_->data(), file_->size());
  uint32_t magic = c.read<uint32_t>("magic");
  if (magic != 0x46554747u) c.fail("magic", fmt::format("not a GGUF file (magic 0x{:08x}, expected \"GGUF\")", magic));
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) c.fail("version", fmt::format("unsupported GGUF version {} (2 and 3 are read)", version_));
  uint64_t n_tensors = c.read<uint64_t>("tensor_count");
  uint64_t n_kv = c.read<uint64_t>("metadata_kv_count");
  // A key-value pair takes at least 12 bytes and a tensor record at least 28. A
  // count beyond that is either absurd or the file was cut short: say both.
  auto fits = [&](uint64_t count, uint64_t record_bytes, const char* field) {
    if (count > file_->size() / record_bytes)
      c.fail(field, fmt::format("count {} cannot fit in a file of {} bytes (truncated or corrupt file)", count,
                                file_->size()));
  };
  fits(n_kv, 12, "metadata_kv_count");
  fits(n_tensors, 28, "tensor_count");

  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key(c.read_string("metadata key"));
    uint32_t t = c.read<uint32_t>(key.c_str());
    if (t > static_cast<uint32_t>(GgufValueType::FLOAT64)) c.fail(key, fmt::format("unknown value type {}", t));
    GgufValue v = read_value(c, static_cast<GgufValueType>(t), key, 0);
    if (kv_index_.count(key)) c.fail(key, "duplicate metadata key");
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (!a->is_integer()) c.fail("general.alignment", "not an integer");
    alignment_ = std::visit([](auto x) -> uint64_t {
      if constexpr (std::is_integral_v<decltype(x)>) return static_cast<uint64_t>(x); else return 0; }, a->v);
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > (1u << 20))
      c.fail("general.alignment", fmt::format("alignment {} is not a power of two up to 1 MiB", alignment_));
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = std::string(c.read_string("tensor name"));
    std::string field = fmt::format("tensor '{}'", t.name);
    uint32_t nd = c.read<uint32_t>(field.c_str());
    if (nd == 0 || nd > kMaxDims) c.fail(field, fmt::format("{} dimensions (1 to {} are valid)", nd, kMaxDims));
    int64_t elems = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t dim = c.read<uint64_t>(field.c_str());
      if (dim == 0 || dim > static_cast<uint64_t>(kMaxDim) || elems > kMaxDim / static_cast<int64_t>(dim))
        c.fail(field, fmt::format("absurd dimension {} (dims[{}])", dim, d));
      t.dims.push_back(static_cast<int64_t>(dim));
      elems *= static_cast<int64_t>(dim);
    }
    uint32_t type = c.read<uint32_t>(field.c_str());
    const kernels::TypeTraits* tt = kernels::type_traits(type);
    if (!tt) c.fail(field, fmt::format("unknown tensor type {}", type));
    t.type = static_cast<kernels::GgmlType>(type);
    if (t.dims[0] % tt->block_elems != 0)
      c.fail(field, fmt::format("row length {} is not a multiple of the {} block size {}", t.dims[0], tt->name, tt->block_elems));
    t.bytes = static_cast<uint64_t>(elems / tt->block_elems) * tt->block_bytes;
    t.offset = c.read<uint64_t>(field.c_str());
    if (t.offset % alignment_ != 0) c.fail(field, fmt::format("data offset {} is not aligned to {}", t.offset, alignment_));
    if (tensor_index_.count(t.name)) c.fail(field, "duplicate tensor name");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  for (GgufTensor& t : tensors_) {
    if (data_offset_ > file_->size() || t.offset > file_->size() - data_offset_ ||
        t.bytes > file_->size() - data_offset_ - t.offset)
      throw Error(ErrorCode::kFormat,
                  fmt::format("{}: offset {}: tensor '{}': data ({} bytes at data offset {}) extends past the end of the file ({} bytes)",
                              path, data_offset_ + t.offset, printable(t.name), t.bytes, t.offset, file_->size()));
    t.data = file_->data() + data_offset_ + t.offset;
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {
[[noreturn]] void bad_key(const std::string& path, std::string_view key, const std::string& what) {
  throw Error(ErrorCode::kFormat, fmt::format("{}: metadata '{}': {}", path, printable(key), what));
}
}  // namespace

uint64_t GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) bad_key(path(), key, "missing");
  if (const auto* u = std::get_if<uint64_t>(&v->v)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v->v); i && *i >= 0) return static_cast<uint64_t>(*i);
  bad_key(path(), key, fmt::format("expected a non-negative integer, found {}", gguf_value_type_name(v->type)));
}

uint64_t GgufFile::get_uint(std::string_view key, uint64_t fallback) const {
  return has(key) ? get_uint(key) : fallback;
}

double GgufFile::get_float(std::string_view key, double fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (const auto* d = std::get_if<double>(&v->v)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v->v)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&v->v)) return static_cast<double>(*i);
  bad_key(path(), key, fmt::format("expected a number, found {}", gguf_value_type_name(v->type)));
}

bool GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (const auto* b = std::get_if<bool>(&v->v)) return *b;
  bad_key(path(), key, fmt::format("expected bool, found {}", gguf_value_type_name(v->type)));
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) bad_key(path(), key, "missing");
  if (const auto* s = std::get_if<std::string_view>(&v->v)) return std::string(*s);
  bad_key(path(), key, fmt::format("expected string, found {}", gguf_value_type_name(v->type)));
}

std::string GgufFile::get_string(std::string_view key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

const GgufArray& GgufFile::get_array(std::string_view key, GgufValueType elem) const {
  const GgufValue* v = find(key);
  if (!v) bad_key(path(), key, "missing");
  const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v->v);
  if (!a) bad_key(path(), key, fmt::format("expected array, found {}", gguf_value_type_name(v->type)));
  if ((*a)->elem_type != elem)
    bad_key(path(), key, fmt::format("expected array of {}, found array of {}", gguf_value_type_name(elem),
                                     gguf_value_type_name((*a)->elem_type)));
  return **a;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
  const GgufTensor* t = find_tensor(name);
  if (!t) throw Error(ErrorCode::kNotFound, fmt::format("{}: tensor '{}': missing", path(), name));
  return *t;
}

}  // namespace chorus::models
