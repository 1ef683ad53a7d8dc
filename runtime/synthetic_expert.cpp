#include "runtime/synthetic_expert.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "kernels/quantize.h"
#include "models/gguf_writer.h"

namespace chorus::runtime {

namespace {

constexpr int32_t kBenchDim = 512;
constexpr int32_t kBenchHidden = 1536;

// xorshift64: values in [-0.05, 0.05], enough to keep activations finite.
class WeightStream {
 public:
  explicit WeightStream(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull | 1) {}
  float next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<float>(static_cast<int64_t>(state_ % 2001) - 1000) * 5e-5f;
  }

 private:
  uint64_t state_;
};

std::vector<uint8_t> tensor_bytes(kernels::GgmlType type, int64_t cols, int64_t rows, WeightStream& stream) {
  std::vector<float> row(static_cast<size_t>(cols));
  const size_t row_size = kernels::row_bytes(type, cols);
  std::vector<uint8_t> out(row_size * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = stream.next();
    kernels::quantize_row(type, row.data(), out.data() + r * row_size, cols);
  }
  return out;
}

}  // namespace

SyntheticExpertShape synthetic_shape_for_bytes(uint64_t bytes) {
  SyntheticExpertShape s;
  s.dim = kBenchDim;
  s.hidden_dim = kBenchHidden;
  s.n_heads = 8;
  s.vocab_size = 256;
  const uint64_t per_layer = 4ull * (4ull * kBenchDim * kBenchDim + 3ull * kBenchDim * kBenchHidden + 2ull * kBenchDim);
  s.n_layers = static_cast<int32_t>(std::max<uint64_t>(1, (bytes + per_layer / 2) / per_layer));
  return s;
}

void write_synthetic_expert(const std::string& path, const SyntheticExpertShape& s, uint64_t seed) {
  using kernels::GgmlType;
  models::GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", fmt::format("synthetic-{}x{}", s.n_layers, s.dim));
  w.add_uint32("llama.embedding_length", static_cast<uint32_t>(s.dim));
  w.add_uint32("llama.feed_forward_length", static_cast<uint32_t>(s.hidden_dim));
  w.add_uint32("llama.block_count", static_cast<uint32_t>(s.n_layers));
  w.add_uint32("llama.attention.head_count", static_cast<uint32_t>(s.n_heads));
  w.add_uint32("llama.context_length", 256);
  w.add_string("tokenizer.ggml.model", "llama");
  std::vector<std::string> tokens;
  for (int32_t i = 0; i < s.vocab_size; ++i) tokens.push_back(fmt::format("<t{}>", i));
  w.add_string_array("tokenizer.ggml.tokens", tokens);

  WeightStream stream(seed);
  const std::vector<float> ones(static_cast<size_t>(s.dim), 1.0f);
  const std::vector<uint8_t> norm(reinterpret_cast<const uint8_t*>(ones.data()),
                                  reinterpret_cast<const uint8_t*>(ones.data() + ones.size()));
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
    w.add_tensor(name, {cols, rows}, s.matrix_type, tensor_bytes(s.matrix_type, cols, rows, stream));
  };
  matrix("token_embd.weight", s.dim, s.vocab_size);
  for (int32_t l = 0; l < s.n_layers; ++l) {
    auto n = [l](const char* kind) { return fmt::format("blk.{}.{}.weight", l, kind); };
    w.add_tensor(n("attn_norm"), {s.dim}, GgmlType::F32, norm);
    matrix(n("attn_q"), s.dim, s.dim);
    matrix(n("attn_k"), s.dim, s.dim);
    matrix(n("attn_v"), s.dim, s.dim);
    matrix(n("attn_output"), s.dim, s.dim);
    w.add_tensor(n("ffn_norm"), {s.dim}, GgmlType::F32, norm);
    matrix(n("ffn_gate"), s.dim, s.hidden_dim);
    matrix(n("ffn_up"), s.dim, s.hidden_dim);
    matrix(n("ffn_down"), s.hidden_dim, s.dim);
  }
  w.add_tensor("output_norm.weight", {s.dim}, GgmlType::F32, norm);
  w.write(path);
}

}  // namespace chorus::runtime
