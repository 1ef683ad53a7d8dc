#include "router/use_lite.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "router/datasets.h"
#include "router/json_fields.h"

namespace chorus::router {

namespace {

uint64_t dtype_size(const std::string& dtype, const std::string& where) {
  if (dtype == "float32" || dtype == "int32" || dtype == "uint32") return 4;
  if (dtype == "float16" || dtype == "int16" || dtype == "uint16") return 2;
  if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  throw Error(ErrorCode::kFormat, fmt::format("{}: unknown dtype '{}'", where, dtype));
}

// Bytes [offset, offset + n) of the concatenation of a group's shard files.
std::vector<uint8_t> read_span(const std::string& dir, const std::vector<std::string>& paths, uint64_t offset,
                               uint64_t n, const std::string& where) {
  // Sized first: the manifest's shape must not decide an allocation the shards cannot fill.
  std::vector<std::string> files;
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  for (const auto& p : paths) {
    if (p.empty() || p.find("..") != std::string::npos || p.front() == '/')
      throw Error(ErrorCode::kFormat, fmt::format("{}: shard path '{}' leaves the model directory", where, p));
    files.push_back((std::filesystem::path(dir) / p).string());
    std::error_code ec;
    sizes.push_back(std::filesystem::file_size(files.back(), ec));
    if (ec) throw Error(ErrorCode::kIo, fmt::format("{}: cannot size shard {}", where, files.back()));
    total += sizes.back();
  }
  if (offset > total || n > total - offset)
    throw Error(ErrorCode::kFormat, fmt::format("{}: the shards hold {} bytes, the tensor needs bytes {}..{}", where,
                                                total, offset, offset + n));
  std::vector<uint8_t> out;
  out.reserve(n);
  uint64_t base = 0;
  for (size_t k = 0; k < files.size() && out.size() < n; ++k) {
    const std::string& file = files[k];
    const uint64_t size = sizes[k];
    const uint64_t want = offset + out.size();  // next absolute byte
    if (want < base + size) {
      const uint64_t from = want - base, take = std::min<uint64_t>(size - from, n - out.size());
      std::ifstream f(file, std::ios::binary);
      f.seekg(static_cast<std::streamoff>(from));
      const size_t old = out.size();
      out.resize(old + take);
      f.read(reinterpret_cast<char*>(out.data() + old), static_cast<std::streamsize>(take));
      if (!f) throw Error(ErrorCode::kIo, fmt::format("{}: cannot read {} bytes at offset {} of {}", where, take, from, file));
    }
    base += size;
  }
  return out;
}

}  // namespace

UseLiteVocab read_use_lite_vocab(const std::string& path) {
  const nlohmann::json j = parse_json(read_text(path), path);
  if (!j.is_array() || j.empty()) throw Error(ErrorCode::kFormat, fmt::format("{}: expected a non-empty array of [piece, score]", path));
  UseLiteVocab v;
  v.pieces.reserve(j.size());
  v.scores.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !(e[1].is_number() || e[1].is_null()))
      throw Error(ErrorCode::kFormat, fmt::format("{}: entry {} is not [piece, score]", path, i));
    v.pieces.push_back(e[0].get<std::string>());
    v.scores.push_back(e[1].is_null() ? 0.0f : e[1].get<float>());
  }
  return v;
}

EmbeddingTable read_tfjs_tensor(const std::string& dir, const std::string& name) {
  const std::string path = (std::filesystem::path(dir) / "model.json").string();
  const nlohmann::json j = parse_json(read_text(path), path);
  const std::string where = path + " weightsManifest";
  const auto& manifest = json_field(j, "weightsManifest", path);
  if (!manifest.is_array()) throw Error(ErrorCode::kFormat, fmt::format("{}: not an array", where));
  for (size_t g = 0; g < manifest.size(); ++g) {
    const std::string gw = fmt::format("{}[{}]", where, g);
    const auto& paths_j = json_field(manifest[g], "paths", gw);
    const auto& weights = json_field(manifest[g], "weights", gw);
    if (!paths_j.is_array() || !weights.is_array())
      throw Error(ErrorCode::kFormat, fmt::format("{}: 'paths' and 'weights' must be arrays", gw));
    std::vector<std::string> paths;
    for (const auto& p : paths_j) {
      if (!p.is_string()) throw Error(ErrorCode::kFormat, fmt::format("{}: a shard path is not a string", gw));
      paths.push_back(p.get<std::string>());
    }
    uint64_t offset = 0;
    for (size_t w = 0; w < weights.size(); ++w) {
      const std::string ww = fmt::format("{}.weights[{}]", gw, w);
      const std::string wname = json_string(weights[w], "name", ww);
      const auto& shape = json_field(weights[w], "shape", ww);
      if (!shape.is_array()) throw Error(ErrorCode::kFormat, fmt::format("{}: 'shape' is not an array", ww));
      uint64_t count = 1;
      std::vector<uint64_t> dims;
      for (const auto& d : shape) {
        dims.push_back(static_cast<uint64_t>(json_int_value(d, 0, 1 << 30, ww + ": shape")));
        count *= dims.back();
        if (count > (uint64_t{1} << 32)) throw Error(ErrorCode::kFormat, fmt::format("{}: shape too large", ww));
      }
      const std::string dtype = json_string(weights[w], "dtype", ww);
      if (weights[w].contains("quantization"))
        throw Error(ErrorCode::kUnsupported, fmt::format("{}: quantized weights are not supported", ww));
      const uint64_t bytes = count * dtype_size(dtype, ww);
      if (wname == name) {
        if (dtype != "float32" || dims.size() != 2 || dims[0] == 0 || dims[1] == 0)
          throw Error(ErrorCode::kFormat, fmt::format("{}: '{}' must be a non-empty 2-D float32 tensor", ww, name));
        const auto raw = read_span(dir, paths, offset, bytes, ww);
        EmbeddingTable t;
        t.rows = static_cast<uint32_t>(dims[0]), t.width = static_cast<uint32_t>(dims[1]);
        t.values.resize(count);
        for (size_t i = 0; i < count; ++i) {
          uint32_t u = 0;
          for (int k = 0; k < 4; ++k) u |= static_cast<uint32_t>(raw[4 * i + k]) << (8 * k);
          std::memcpy(&t.values[i], &u, 4);
          if (!std::isfinite(t.values[i]))
            throw Error(ErrorCode::kFormat, fmt::format("{}: element {} of '{}' is not finite", ww, i, name));
        }
        return t;
      }
      offset += bytes;
    }
  }
  throw Error(ErrorCode::kFormat, fmt::format("{}: no weight named '{}'", where, name));
}

}  // namespace chorus::router
