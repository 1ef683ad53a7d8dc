#include "models/llama_weights.h"

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::models {

namespace {

std::string shape_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

kernels::WeightMatrix matrix(const ModelFile& f, const std::string& name, int64_t cols, int64_t rows) {
  const TensorInfo& t = f.tensor(name);
  if (t.dims.size() != 2 || t.dims[0] != cols || t.dims[1] != rows)
    throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': shape {} but the model needs [{}, {}]", f.path, name,
                                                shape_str(t.dims), cols, rows));
  if (!kernels::matmul_supports(t.type))
    throw Error(ErrorCode::kUnsupported, fmt::format("{}: tensor '{}': type {} is not supported by the matmul kernels",
                                                     f.path, name, kernels::type_name(t.type)));
  return {t.type, rows, cols, t.data};
}

const float* vector_f32(const ModelFile& f, const std::string& name, int64_t n) {
  const TensorInfo& t = f.tensor(name);
  if (t.dims.size() != 1 || t.dims[0] != n)
    throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': shape {} but the model needs [{}]", f.path, name,
                                                shape_str(t.dims), n));
  if (t.type != kernels::GgmlType::F32)
    throw Error(ErrorCode::kUnsupported,
                fmt::format("{}: tensor '{}': norm weights must be f32, found {}", f.path, name, kernels::type_name(t.type)));
  if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0)
    throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': data is not 4-byte aligned", f.path, name));
  return reinterpret_cast<const float*>(t.data);
}

}  // namespace

LlamaWeights bind_llama_weights(const ModelFile& f) {
  if (f.architecture != "llama")
    throw Error(ErrorCode::kUnsupported,
                fmt::format("{}: general.architecture '{}' is not supported (the Llama family is)", f.path, f.architecture));
  const LlamaConfig& c = f.config;
  LlamaWeights w;
  w.token_embedding = matrix(f, "token_embd.weight", c.dim, c.vocab_size);
  w.output_norm = vector_f32(f, "output_norm.weight", c.dim);
  w.output = f.tied_output ? w.token_embedding : matrix(f, "output.weight", c.dim, c.vocab_size);
  for (int l = 0; l < c.n_layers; ++l) {
    auto n = [l](const char* kind) { return fmt::format("blk.{}.{}.weight", l, kind); };
    LlamaLayerWeights lw;
    lw.attn_norm = vector_f32(f, n("attn_norm"), c.dim);
    lw.wq = matrix(f, n("attn_q"), c.dim, c.dim);
    lw.wk = matrix(f, n("attn_k"), c.dim, c.kv_dim());
    lw.wv = matrix(f, n("attn_v"), c.dim, c.kv_dim());
    lw.wo = matrix(f, n("attn_output"), c.dim, c.dim);
    lw.ffn_norm = vector_f32(f, n("ffn_norm"), c.dim);
    lw.w_gate = matrix(f, n("ffn_gate"), c.dim, c.hidden_dim);
    lw.w_up = matrix(f, n("ffn_up"), c.dim, c.hidden_dim);
    lw.w_down = matrix(f, n("ffn_down"), c.hidden_dim, c.dim);
    w.layers.push_back(lw);
  }
  return w;
}

}  // namespace chorus::models
