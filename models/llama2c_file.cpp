// llama2.c checkpoints: a 7 x int32 header, then f32 weights in a fixed order.
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/mapped_file.h"
#include "models/model_file.h"

namespace chorus::models {

namespace {

constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxLayers = 1024;
constexpr int32_t kMaxVocab = 1 << 22;
constexpr int32_t kMaxContext = 1 << 20;

[[noreturn]] void bad_header(const std::string& path, int offset, const char* field, int32_t value, const char* why) {
  throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: llama2.c header field '{}' = {}: {}", path, offset, field,
                                              value, why));
}

}  // namespace

ModelFile open_llama2c_model(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  if (map->size() < 28)
    throw Error(ErrorCode::kFormat, fmt::format("{}: offset 0: llama2.c header: truncated file ({} bytes, need 28)",
                                                path, map->size()));
  int32_t h[7];
  std::memcpy(h, map->data(), sizeof(h));
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  const int32_t limits[7] = {kMaxDim, kMaxDim * 8, kMaxLayers, kMaxDim, kMaxDim, kMaxVocab, kMaxContext};
  for (int i = 0; i < 7; ++i) {
    int32_t v = i == 5 ? (h[i] == INT32_MIN ? 0 : std::abs(h[i])) : h[i];
    if (v <= 0 || v > limits[i]) bad_header(path, i * 4, names[i], h[i], "out of range (is this a llama2.c checkpoint?)");
  }
  ModelFile m;
  m.path = path;
  m.format = "llama2c";
  m.architecture = "llama";
  m.mapping = map;
  LlamaConfig& c = m.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.vocab_size = std::abs(h[5]);
  c.context_length = h[6];
  if (c.dim % c.n_heads != 0) bad_header(path, 12, "n_heads", c.n_heads, "does not divide dim");
  if (c.n_heads % c.n_kv_heads != 0) bad_header(path, 16, "n_kv_heads", c.n_kv_heads, "does not divide n_heads");
  c.head_dim = c.dim / c.n_heads;
  if (c.head_dim % 2 != 0) bad_header(path, 12, "n_heads", c.n_heads, "gives an odd head size");
  c.rope_dim = c.head_dim;
  m.tied_output = h[5] > 0;

  const int64_t dim = c.dim, hid = c.hidden_dim, L = c.n_layers, kv = c.kv_dim(), V = c.vocab_size;
  uint64_t offset = 28;
  auto add = [&](const std::string& name, std::vector<int64_t> dims) {
    uint64_t elems = 1;
    for (int64_t d : dims) elems *= static_cast<uint64_t>(d);
    const uint64_t bytes = elems * 4;
    if (offset > map->size() || bytes > map->size() - offset)
      throw Error(ErrorCode::kFormat,
                  fmt::format("{}: offset {}: tensor '{}' ({} bytes) extends past the end of the file ({} bytes)", path,
                              offset, name, bytes, map->size()));
    m.tensors.push_back({name, kernels::GgmlType::F32, std::move(dims), offset, bytes, map->data() + offset});
    offset += bytes;
  };
  // The file stores each weight kind for all layers together; per-layer views slice them.
  auto add_layers = [&](const char* kind, std::vector<int64_t> dims) {
    for (int64_t l = 0; l < L; ++l) add(fmt::format("blk.{}.{}.weight", l, kind), dims);
  };
  add("token_embd.weight", {dim, V});
  add_layers("attn_norm", {dim});
  add_layers("attn_q", {dim, dim});
  add_layers("attn_k", {dim, kv});
  add_layers("attn_v", {dim, kv});
  add_layers("attn_output", {dim, dim});
  add_layers("ffn_norm", {dim});
  add_layers("ffn_gate", {dim, hid});
  add_layers("ffn_down", {hid, dim});
  add_layers("ffn_up", {dim, hid});
  add("output_norm.weight", {dim});
  // Precomputed RoPE tables (freq_cis_real, freq_cis_imag) that chorus recomputes.
  const uint64_t rope_tables = static_cast<uint64_t>(c.context_length) * c.head_dim * 4;
  if (offset + rope_tables > map->size())
    throw Error(ErrorCode::kFormat, fmt::format("{}: offset {}: freq_cis tables: truncated file", path, offset));
  offset += rope_tables;
  if (!m.tied_output) add("output.weight", {dim, V});
  return m;
}

}  // namespace chorus::models
