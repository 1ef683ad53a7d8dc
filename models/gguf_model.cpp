// Llama-family hyperparameters and tensors from a GGUF file. Every value that
// changes the math is read from the file and checked for a sane range; a key
// of the architecture that chorus does not read is refused, not ignored.
#include <cmath>

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

float checked_positive(const GgufFile& f, const std::string& key, double v, double max) {
  if (!std::isfinite(v) || v <= 0 || v > max)
    throw Error(ErrorCode::kFormat,
                fmt::format("{}: metadata '{}': value {} is out of range (above 0, at most {})", f.path(), key, v, max));
  return static_cast<float>(v);
}

[[noreturn]] void bad(const std::string& path, const std::string& key, const std::string& what) {
  throw Error(ErrorCode::kFormat, fmt::format("{}: metadata '{}': {}", path, key, what));
}

// Keys under "<arch>." that the architecture does not read: one of them may
// change the math (rope scaling, soft-capping, experts), so the file is refused.
void refuse_unknown_keys(const GgufFile& gguf, const Architecture& arch) {
  const std::string prefix = std::string(arch.name) + ".";
  for (const auto& [key, value] : gguf.metadata()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (!arch.reads_key(std::string_view(key).substr(prefix.size())))
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("{}: metadata '{}' is not understood by chorus's {} forward pass (it may change the "
                              "math, so the file is refused)", gguf.path(), key, arch.name));
  }
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

  const Architecture* arch = find_architecture(m.architecture);
  if (!arch) return m;  // inspectable; loading it fails with the list of supported architectures
  refuse_unknown_keys(*gguf, *arch);
  auto key = [&](const char* k) { return m.architecture + "." + k; };
  LlamaConfig& c = m.config;
  c.arch = arch;
  c.dim = checked_dim(*gguf, key("embedding_length"), gguf->get_uint(key("embedding_length")), 1 << 16);
  c.hidden_dim = checked_dim(*gguf, key("feed_forward_length"), gguf->get_uint(key("feed_forward_length")), 1 << 19);
  c.n_layers = checked_dim(*gguf, key("block_count"), gguf->get_uint(key("block_count")), 1024);
  c.n_heads = checked_dim(*gguf, key("attention.head_count"), gguf->get_uint(key("attention.head_count")), 1 << 12);
  c.n_kv_heads = checked_dim(*gguf, key("attention.head_count_kv"),
                             gguf->get_uint(key("attention.head_count_kv"), static_cast<uint64_t>(c.n_heads)), 1 << 12);
  c.context_length = checked_dim(*gguf, key("context_length"), gguf->get_uint(key("context_length"), 2048), 1 << 24);
  if (c.n_heads % c.n_kv_heads != 0)
    bad(path, key("attention.head_count_kv"),
        fmt::format("{} KV heads do not divide {} attention heads", c.n_kv_heads, c.n_heads));
  if (gguf->has(key("attention.key_length"))) {  // a head width of its own (Gemma 3: 256 with dim 640)
    c.head_dim = checked_dim(*gguf, key("attention.key_length"), gguf->get_uint(key("attention.key_length")), 1 << 12);
    const uint64_t v = gguf->get_uint(key("attention.value_length"), static_cast<uint64_t>(c.head_dim));
    if (v != static_cast<uint64_t>(c.head_dim))
      bad(path, key("attention.value_length"),
          fmt::format("{} differs from the key length {} (not supported)", v, c.head_dim));
  } else {
    if (c.dim % c.n_heads != 0)
      bad(path, key("attention.head_count"), fmt::format("{} heads do not divide dim {}", c.n_heads, c.dim));
    c.head_dim = c.dim / c.n_heads;
  }
  if (c.head_dim % 2 != 0) bad(path, key("attention.head_count"), fmt::format("odd head width {}", c.head_dim));
  c.rope_dim = checked_dim(*gguf, key("rope.dimension_count"),
                           gguf->get_uint(key("rope.dimension_count"), static_cast<uint64_t>(c.head_dim)), c.head_dim);
  if (c.rope_dim % 2 != 0) bad(path, key("rope.dimension_count"), fmt::format("odd value {}", c.rope_dim));
  c.rope_base = checked_positive(*gguf, key("rope.freq_base"), gguf->get_float(key("rope.freq_base"), 10000.0), 1e12);
  c.rms_eps = checked_positive(*gguf, key("attention.layer_norm_rms_epsilon"),
                               gguf->get_float(key("attention.layer_norm_rms_epsilon"), 1e-5), 0.1);
  if (arch->sliding_window_pattern > 0)
    c.sliding_window = checked_dim(*gguf, key("attention.sliding_window"), gguf->get_uint(key("attention.sliding_window")),
                                   1 << 24);
  const GgufTensor& embd = gguf->tensor("token_embd.weight");
  if (embd.dims.size() != 2 || embd.dims[0] != c.dim)
    throw Error(ErrorCode::kFormat, fmt::format("{}: tensor 'token_embd.weight': shape does not match dim {}", path, c.dim));
  c.vocab_size = checked_dim(*gguf, "token_embd.weight", static_cast<uint64_t>(embd.dims[1]), 1 << 22);
  if (gguf->has(key("vocab_size")) && gguf->get_uint(key("vocab_size")) != static_cast<uint64_t>(c.vocab_size))
    bad(path, key("vocab_size"),
        fmt::format("{} differs from token_embd.weight's {} rows", gguf->get_uint(key("vocab_size")), c.vocab_size));
  m.tied_output = gguf->find_tensor("output.weight") == nullptr;
  return m;
}

}  // namespace chorus::models
