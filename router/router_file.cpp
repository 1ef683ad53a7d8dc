#include "router/router_file.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/file_kind.h"
#include "models/json_text.h"
#include "router/json_fields.h"

namespace chorus::router {

namespace {

constexpr char kMagic[8] = {'C', 'H', 'R', 'R', 'O', 'U', 'T', 'E'};

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

void put_u32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(std::vector<uint8_t>& b, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

struct PayloadWriter {
  std::vector<uint8_t> bytes;
  nlohmann::json tensors = nlohmann::json::object();
  void add(const std::string& name, const std::vector<float>& v) {
    const size_t off = bytes.size();
    bytes.resize(off + v.size() * 4);
    for (size_t i = 0; i < v.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &v[i], 4);
      for (int k = 0; k < 4; ++k) bytes[off + i * 4 + k] = static_cast<uint8_t>(u >> (8 * k));
    }
    tensors[name] = {{"offset", off}, {"count", v.size()}};
  }
};

struct PayloadReader {
  const uint8_t* data;
  size_t size;
  const nlohmann::json& tensors;
  const std::string& name;
  size_t payload_offset;
  std::vector<float> get(const std::string& t, size_t expect) const {
    if (!tensors.contains(t))
      throw Error(ErrorCode::kFormat, fmt::format("router file {}: tensor '{}' missing from metadata", name, t));
    const std::string where = fmt::format("router file {}: tensor '{}'", name, t);
    const uint64_t off = static_cast<uint64_t>(json_int(tensors.at(t), "offset", 0, INT64_MAX, where));
    const uint64_t count = static_cast<uint64_t>(json_int(tensors.at(t), "count", 0, INT64_MAX, where));
    if (count != expect)
      throw Error(ErrorCode::kFormat,
                  fmt::format("router file {}: tensor '{}' has {} floats, the model needs {}", name, t, count, expect));
    if (off % 4 != 0 || off > size || count > (size - off) / 4)
      throw Error(ErrorCode::kFormat,
                  fmt::format("router file {}: tensor '{}' [{} + {}x4 bytes] lies outside the payload ({} bytes, "
                              "at file offset {})",
                              name, t, off, count, size, payload_offset));
    std::vector<float> v(count);
    const uint8_t* p = data + off;
    for (size_t i = 0; i < count; ++i) {
      uint32_t u = get_u32(p + 4 * i);
      std::memcpy(&v[i], &u, 4);
      if (!std::isfinite(v[i]))
        throw Error(ErrorCode::kFormat, fmt::format("router file {}: tensor '{}' element {} is not finite (file "
                                                    "offset {})",
                                                    name, t, i, payload_offset + off + 4 * i));
    }
    return v;
  }
};

PooledEmbeddings read_embeddings(const nlohmann::json& j, const PayloadReader& pr, const std::string& where) {
  PooledEmbeddings e;
  e.pooling = parse_pooling(json_string(j, "pooling", where));
  const auto rows = static_cast<uint32_t>(json_int(j, "rows", 1, 1 << 24, where));
  const auto width = static_cast<uint32_t>(json_int(j, "width", 1, 65536, where));
  const auto reserved = static_cast<uint32_t>(json_int(j, "reserved", 0, 1 << 24, where));
  const auto& pieces_j = json_field(j, "pieces", where);
  if (!pieces_j.is_array() || pieces_j.empty() || pieces_j.size() > rows)
    throw Error(ErrorCode::kFormat, fmt::format("{}: 'pieces' must be a non-empty array of at most {} strings", where, rows));
  std::vector<std::string> pieces;
  pieces.reserve(pieces_j.size());
  for (const auto& p : pieces_j) {
    if (!p.is_string()) throw Error(ErrorCode::kFormat, fmt::format("{}: a piece is not a string", where));
    pieces.push_back(p.get<std::string>());
  }
  if (static_cast<uint64_t>(rows) * width > pr.size / 4)
    throw Error(ErrorCode::kFormat, fmt::format("{}: a {}x{} table cannot fit in the payload", where, rows, width));
  auto scores = pr.get("emb.scores", pieces.size());
  e.tokenizer = PieceTokenizer(std::move(pieces), std::move(scores), reserved);
  e.table.rows = rows, e.table.width = width;
  e.table.values = pr.get("emb.table", static_cast<size_t>(rows) * width);
  e.shift = pr.get("emb.shift", e.out_dim());
  e.scale = pr.get("emb.scale", e.out_dim());
  return e;
}

// Member k's tensor `name`: "m0.w1", "m1.w1", ...
std::string member_tensor(size_t k, const char* name) { return fmt::format("m{}.{}", k, name); }

}  // namespace

uint64_t router_checksum(const uint8_t* data, size_t n) {
  constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL;
  uint64_t lane[4] = {P1 + P2, P2, 0, 0 - P1};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) lane[k] = rotl(lane[k] + get_u64(data + i + 8 * k) * P2, 31) * P1;
  uint64_t h = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) + rotl(lane[3], 18) + n;
  for (; i < n; ++i) h = rotl(h ^ (data[i] * P1), 11) * P2;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  return h;
}

std::vector<uint8_t> serialize_router(const RouterModel& m) {
  m.validate();
  PayloadWriter pw;
  pw.add("idf", m.features.idf());
  nlohmann::json emb = nullptr;
  if (m.embeddings.enabled()) {
    const PooledEmbeddings& e = m.embeddings;
    emb = {{"pooling", pooling_name(e.pooling)}, {"rows", e.table.rows}, {"width", e.table.width},
           {"reserved", e.tokenizer.reserved()}, {"pieces", e.tokenizer.pieces()}};
    pw.add("emb.scores", e.tokenizer.scores());
    pw.add("emb.table", e.table.values);
    pw.add("emb.shift", e.shift);
    pw.add("emb.scale", e.scale);
  }
  nlohmann::json model;
  model["kind"] = model_kind_name(m.kind);
  model["members"] = m.n_members();
  if (m.kind == ModelKind::kWideMLP) {
    model["in_dim"] = m.mlps[0].in_dim;
    model["hidden"] = m.mlps[0].hidden;
    model["out_dim"] = m.mlps[0].out_dim;
    for (size_t k = 0; k < m.mlps.size(); ++k) {
      pw.add(member_tensor(k, "w1"), m.mlps[k].w1);
      pw.add(member_tensor(k, "b1"), m.mlps[k].b1);
      pw.add(member_tensor(k, "w2"), m.mlps[k].w2);
      pw.add(member_tensor(k, "b2"), m.mlps[k].b2);
    }
  } else {
    model["in_dim"] = m.linears[0].in_dim;
    model["out_dim"] = m.linears[0].out_dim;
    for (size_t k = 0; k < m.linears.size(); ++k) {
      pw.add(member_tensor(k, "w"), m.linears[k].w);
      pw.add(member_tensor(k, "b"), m.linears[k].b);
    }
  }
  nlohmann::json meta = {{"format", "chorus-router"},
                         {"version", kRouterFileVersion},
                         {"features", m.features.config().to_json()},
                         {"embeddings", emb},
                         {"model", model},
                         {"labels", m.labels},
                         {"categories", m.categories},
                         {"label_category", m.label_category},
                         {"guard", m.guard.to_json()},
                         {"tensors", pw.tensors},
                         {"info", m.info}};
  const std::string ms = models::json_text(meta);
  std::vector<uint8_t> out(kRouterHeaderSize + ms.size() + pw.bytes.size(), 0);
  std::memcpy(out.data(), kMagic, 8);
  put_u32(out, 8, kRouterFileVersion);
  put_u32(out, 12, static_cast<uint32_t>(kRouterHeaderSize));
  put_u64(out, 16, ms.size());
  put_u64(out, 24, pw.bytes.size());
  std::memcpy(out.data() + kRouterHeaderSize, ms.data(), ms.size());
  if (!pw.bytes.empty()) std::memcpy(out.data() + kRouterHeaderSize + ms.size(), pw.bytes.data(), pw.bytes.size());
  put_u64(out, 32, router_checksum(out.data() + kRouterHeaderSize, out.size() - kRouterHeaderSize));
  return out;
}

RouterModel parse_router(const uint8_t* data, size_t n, const std::string& name, bool verify_checksum) {
  auto fail = [&](const std::string& what) { return Error(ErrorCode::kFormat, fmt::format("router file {}: {}", name, what)); };
  if (n < kRouterHeaderSize) throw fail(fmt::format("{} bytes is shorter than the {}-byte header", n, kRouterHeaderSize));
  if (std::memcmp(data, kMagic, 8) != 0) throw fail("bad magic at offset 0 (not a chorus router file)");
  const uint32_t version = get_u32(data + 8);
  if (version < kRouterFileOldestVersion || version > kRouterFileVersion)
    throw Error(ErrorCode::kUnsupported, fmt::format("router file {}: format version {} at offset 8, this chorus reads "
                                                     "versions {}..{} (retrain it with chorus train-router)",
                                                     name, version, kRouterFileOldestVersion, kRouterFileVersion));
  if (get_u32(data + 12) != kRouterHeaderSize) throw fail(fmt::format("header size {} at offset 12, expected {}", get_u32(data + 12), kRouterHeaderSize));
  const uint64_t meta_len = get_u64(data + 16), payload_len = get_u64(data + 24);
  const uint64_t body = n - kRouterHeaderSize;
  if (meta_len > body || payload_len != body - meta_len)
    throw fail(fmt::format("metadata ({} bytes, offset 16) + payload ({} bytes, offset 24) do not add up to the {} "
                           "bytes after the header (truncated or padded file)",
                           meta_len, payload_len, body));
  if (verify_checksum) {
    const uint64_t want = get_u64(data + 32);
    const uint64_t got = router_checksum(data + kRouterHeaderSize, body);
    if (want != got) throw fail(fmt::format("checksum mismatch (stored {:016x} at offset 32, computed {:016x}): the file is corrupt", want, got));
  }
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(data + kRouterHeaderSize, data + kRouterHeaderSize + meta_len);
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("metadata JSON at offset {}: {}", kRouterHeaderSize, e.what()));
  }
  RouterModel m;
  try {
    if (!meta.is_object() || meta.value("format", std::string()) != "chorus-router")
      throw fail("metadata is not a chorus-router object");
    const std::string where = fmt::format("router file {} metadata", name);
    if (json_int(meta, "version", 0, UINT32_MAX, where) != version) throw fail("metadata version disagrees with the header");
    const FeatureConfig fc = FeatureConfig::from_json(meta.at("features"));
    if (fc.dim > payload_len / 4) throw fail(fmt::format("features dim {} cannot fit in the payload", fc.dim));
    m.features = Featurizer(fc);
    const auto& model = meta.at("model");
    const std::string kind = json_string(model, "kind", where);
    if (kind != "widemlp" && kind != "linear") throw fail(fmt::format("unknown model kind '{}'", kind));
    m.kind = parse_model_kind(kind);
    m.labels = meta.at("labels").get<std::vector<std::string>>();
    m.categories = meta.at("categories").get<std::vector<std::string>>();
    const auto& lc = json_field(meta, "label_category", where);
    if (!lc.is_array()) throw fail("'label_category' is not an array");
    for (const auto& v : lc) m.label_category.push_back(static_cast<int>(json_int_value(v, -1, INT32_MAX, where + ": label_category")));
    m.guard = GuardConfig::from_json(meta.at("guard"));
    if (meta.contains("info")) m.info = meta.at("info");
    const auto& tensors = meta.at("tensors");
    if (!tensors.is_object()) throw fail("'tensors' is not an object");
    PayloadReader pr{data + kRouterHeaderSize + meta_len, static_cast<size_t>(payload_len), tensors, name,
                     kRouterHeaderSize + static_cast<size_t>(meta_len)};
    const uint32_t dim = m.features.config().dim;
    if (version >= 3 && meta.contains("embeddings") && !meta.at("embeddings").is_null())
      m.embeddings = read_embeddings(meta.at("embeddings"), pr, where + ": embeddings");
    const uint64_t in_dim = static_cast<uint64_t>(json_int(model, "in_dim", 0, UINT32_MAX, where));
    const uint64_t out_dim = static_cast<uint64_t>(json_int(model, "out_dim", 0, UINT32_MAX, where));
    if (in_dim != m.in_dim())
      throw fail(fmt::format("model in_dim {} differs from features dim {} + embeddings {}", in_dim, dim,
                             m.embeddings.out_dim()));
    if (out_dim != m.labels.size() || out_dim == 0 || out_dim > 1000000)
      throw fail(fmt::format("model out_dim {} differs from {} labels", out_dim, m.labels.size()));
    m.features.set_idf(pr.get("idf", dim));
    const uint64_t members = static_cast<uint64_t>(json_int(model, "members", 1, kMaxMembers, where));
    if (m.kind == ModelKind::kWideMLP) {
      const uint64_t hidden = static_cast<uint64_t>(json_int(model, "hidden", 0, UINT32_MAX, where));
      if (hidden == 0 || hidden > 65536) throw fail(fmt::format("hidden size {} out of range", hidden));
      if (members * in_dim * hidden > payload_len / 4) throw fail(fmt::format("{} members' w1 cannot fit in the payload", members));
      m.mlps.resize(members);
      for (size_t k = 0; k < members; ++k) {
        WideMLP& mlp = m.mlps[k];
        mlp.in_dim = m.in_dim(), mlp.hidden = static_cast<uint32_t>(hidden), mlp.out_dim = static_cast<uint32_t>(out_dim);
        mlp.w1 = pr.get(member_tensor(k, "w1"), in_dim * hidden);
        mlp.b1 = pr.get(member_tensor(k, "b1"), hidden);
        mlp.w2 = pr.get(member_tensor(k, "w2"), hidden * out_dim);
        mlp.b2 = pr.get(member_tensor(k, "b2"), out_dim);
      }
    } else {
      if (members * in_dim * out_dim > payload_len / 4) throw fail(fmt::format("{} members' w cannot fit in the payload", members));
      m.linears.resize(members);
      for (size_t k = 0; k < members; ++k) {
        m.linears[k].in_dim = m.in_dim(), m.linears[k].out_dim = static_cast<uint32_t>(out_dim);
        m.linears[k].w = pr.get(member_tensor(k, "w"), in_dim * out_dim);
        m.linears[k].b = pr.get(member_tensor(k, "b"), out_dim);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("metadata field: {}", e.what()));
  }
  m.validate();
  return m;
}

void save_router(const RouterModel& m, const std::string& path) {
  const auto bytes = serialize_router(m);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(ErrorCode::kIo, fmt::format("cannot open {} for writing", tmp));
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw Error(ErrorCode::kIo, fmt::format("cannot write {}", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(ErrorCode::kIo, fmt::format("cannot rename {} to {}", tmp, path));
}

RouterModel load_router(const std::string& path) {
  const std::string bytes = models::read_whole_file(path, "router file");
  return parse_router(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, true);
}

}  // namespace chorus::router
