// Llama-family hyperparameters and tensors from a GGUF file.
#include <fmt/format.h>

#include "chorus/error.h"
#include "models/gguf.h"
#include "models/model_file.h"

namespace chorus::models {

namespace {

int32_t checked_dim(const GgufFile& f, const std::string& key, uint64_t v, uint64_t max) {
  if (v == 0 || v > max)
    throw Error(ErrorCode::kFormat, fmt::format("{}: metadata '{}': absurd value {} (1 to {} allowed)", f.path(), key, v, max));
  return static_cast<int32_t>(v);
}

}  // namespace

ModelFile open_gguf_model(const std::string& path) {
  auto gguf = std::make_shared<GgufFile>(path);
  ModelFile m;
  m.path = path;
  m.format = "gguf";
  m.gguf = gguf;
  m.architecture = gguf->get_string("general.architecture");
  m.name = gguf->get_string("general.name", "");
  for (const GgufTensor& t : gguf->tensors())
    m.tensors.push_back({t.name, t.type, t.dims, gguf->data_offset() + t.offset, t.bytes, t.data});

  const std::string& a = m.architecture;
  if (a != "llama") return m;  // inspectable, but the Llama forward pass will refuse it
  auto key = [&](const char* k) { return a + "." + k; };
  LlamaConfig& c = m.config;
  c.dim = checked_dim(*gguf, key("embedding_length"), gguf->get_uint(key("embedding_length")), 1 << 16);
  c.hidden_dim = checked_dim(*gguf, key("feed_forward_length"), gguf->get_uint(key("feed_forward_length")), 1 << 19);
  c.n_layers = checked_dim(*gguf, key("block_count"), gguf->get_uint(key("block_count")), 1024);
  c.n_heads = checked_dim(*gguf, key("attention.head_count"), gguf->get_uint(key("attention.head_count")), 1 << 12);
  c.n_kv_heads = checked_dim(*gguf, key("attention.head_count_kv"),
                             gguf->get_uint(key("attention.head_count_kv"), static_cast<uint64_t>(c.n_heads)), 1 << 12);
  c.context_length = checked_dim(*gguf, key("context_length"), gguf->get_uint(key("context_length"), 2048), 1 << 24);
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0)
    throw Error(ErrorCode::kFormat, fmt::format("{}: metadata '{}': {} heads with {} KV heads do not fit dim {}", path,
                                                key("attention.head_count"), c.n_heads, c.n_kv_heads, c.dim));
  c.head_dim = c.dim / c.n_heads;
  c.rope_dim = checked_dim(*gguf, key("rope.dimension_count"),
                           gguf->get_uint(key("rope.dimension_count"), static_cast<uint64_t>(c.head_dim)), c.head_dim);
  if (c.rope_dim % 2 != 0)
    throw Error(ErrorCode::kFormat, fmt::format("{}: metadata '{}': odd value {}", path, key("rope.dimension_count"), c.rope_dim));
  c.rope_base = static_cast<float>(gguf->get_float(key("rope.freq_base"), 10000.0));
  c.rms_eps = static_cast<float>(gguf->get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));
  const GgufTensor& embd = gguf->tensor("token_embd.weight");
  if (embd.dims.size() != 2 || embd.dims[0] != c.dim)
    throw Error(ErrorCode::kFormat, fmt::format("{}: tensor 'token_embd.weight': shape does not match dim {}", path, c.dim));
  c.vocab_size = checked_dim(*gguf, "token_embd.weight", static_cast<uint64_t>(embd.dims[1]), 1 << 22);
  m.tied_output = gguf->find_tensor("output.weight") == nullptr;
  return m;
}

}  // namespace chorus::models
