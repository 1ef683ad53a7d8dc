#include "models/llama_weights.h"

#include <set>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::models {

namespace {

std::string shape_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

// Binds tensors by name and remembers which were bound.
class Binder {
 public:
  explicit Binder(const ModelFile& f) : f_(f) {}

  kernels::WeightMatrix matrix(const std::string& name, int64_t cols, int64_t rows) {
    const TensorInfo& t = take(name);
    if (t.dims.size() != 2 || t.dims[0] != cols || t.dims[1] != rows)
      throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': shape {} but the model needs [{}, {}]", f_.path, name,
                                                  shape_str(t.dims), cols, rows));
    if (!kernels::matmul_supports(t.type))
      throw Error(ErrorCode::kUnsupported, fmt::format("{}: tensor '{}': type {} is not supported by the matmul kernels",
                                                       f_.path, name, kernels::type_name(t.type)));
    return {t.type, rows, cols, t.data};
  }

  const float* vector_f32(const std::string& name, int64_t n) {
    const TensorInfo& t = take(name);
    if (t.dims.size() != 1 || t.dims[0] != n)
      throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': shape {} but the model needs [{}]", f_.path, name,
                                                  shape_str(t.dims), n));
    if (t.type != kernels::GgmlType::F32)
      throw Error(ErrorCode::kUnsupported, fmt::format("{}: tensor '{}': norm and bias weights must be f32, found {}",
                                                       f_.path, name, kernels::type_name(t.type)));
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0)
      throw Error(ErrorCode::kFormat, fmt::format("{}: tensor '{}': data is not 4-byte aligned", f_.path, name));
    return reinterpret_cast<const float*>(t.data);
  }

  // Every tensor of the file must have been bound: one left over would be
  // math (a bias, a norm) that this forward pass does not do.
  void check_all_bound() const {
    for (const TensorInfo& t : f_.tensors)
      if (!bound_.count(t.name))
        throw Error(ErrorCode::kUnsupported,
                    fmt::format("{}: tensor '{}' is not part of chorus's {} forward pass (the file is refused rather "
                                "than run without it)", f_.path, t.name, f_.config.arch->name));
  }

 private:
  const TensorInfo& take(const std::string& name) {
    bound_.insert(name);
    return f_.tensor(name);
  }

  const ModelFile& f_;
  std::set<std::string> bound_;
};

}  // namespace

const Architecture& require_architecture(const ModelFile& f) {
  const Architecture* arch = find_architecture(f.architecture);
  if (!arch)
    throw Error(ErrorCode::kUnsupported, fmt::format("{}: general.architecture '{}' is not supported (supported: {})",
                                                     f.path, f.architecture, supported_architectures()));
  return *arch;
}

LlamaWeights bind_llama_weights(const ModelFile& f) {
  const Architecture* arch = &require_architecture(f);
  const LlamaConfig& c = f.config;
  Binder b(f);
  LlamaWeights w;
  w.token_embedding = b.matrix("token_embd.weight", c.dim, c.vocab_size);
  w.output_norm = b.vector_f32("output_norm.weight", c.dim);
  w.output = f.tied_output ? w.token_embedding : b.matrix("output.weight", c.dim, c.vocab_size);
  for (int l = 0; l < c.n_layers; ++l) {
    auto n = [l](const char* kind) { return fmt::format("blk.{}.{}.weight", l, kind); };
    auto bias = [l](const char* kind) { return fmt::format("blk.{}.{}.bias", l, kind); };
    LlamaLayerWeights lw;
    lw.attn_norm = b.vector_f32(n("attn_norm"), c.dim);
    lw.wq = b.matrix(n("attn_q"), c.dim, c.q_dim());
    lw.wk = b.matrix(n("attn_k"), c.dim, c.kv_dim());
    lw.wv = b.matrix(n("attn_v"), c.dim, c.kv_dim());
    lw.wo = b.matrix(n("attn_output"), c.q_dim(), c.dim);
    if (arch->qkv_bias) {
      lw.bq = b.vector_f32(bias("attn_q"), c.q_dim());
      lw.bk = b.vector_f32(bias("attn_k"), c.kv_dim());
      lw.bv = b.vector_f32(bias("attn_v"), c.kv_dim());
    }
    if (arch->qk_norm) {
      lw.q_norm = b.vector_f32(n("attn_q_norm"), c.head_dim);
      lw.k_norm = b.vector_f32(n("attn_k_norm"), c.head_dim);
    }
    if (arch->post_attention_norm) lw.post_attention_norm = b.vector_f32(n("post_attention_norm"), c.dim);
    lw.ffn_norm = b.vector_f32(n("ffn_norm"), c.dim);
    lw.w_gate = b.matrix(n("ffn_gate"), c.dim, c.hidden_dim);
    lw.w_up = b.matrix(n("ffn_up"), c.dim, c.hidden_dim);
    lw.w_down = b.matrix(n("ffn_down"), c.hidden_dim, c.dim);
    if (arch->post_ffn_norm) lw.post_ffn_norm = b.vector_f32(n("post_ffw_norm"), c.dim);
    w.layers.push_back(lw);
  }
  b.check_all_bound();
  return w;
}

}  // namespace chorus::models
