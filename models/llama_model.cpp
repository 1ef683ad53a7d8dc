#include "models/llama_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "chorus/error.h"
#include "kernels/attention.h"
#include "kernels/dequantize.h"
#include "kernels/ops.h"

namespace chorus::models {

namespace {

// RMSNorm of n consecutive rows of `width` values (token rows, or one token's
// heads); in may be out: rmsnorm reads a row whole before writing it.
void norm_rows(kernels::KernelPath path, const float* in, const float* weight, float* out, int64_t n, int64_t width,
               float eps) {
  for (int64_t r = 0; r < n; ++r) kernels::rmsnorm(path, in + r * width, weight, out + r * width, width, eps);
}

}  // namespace

LlamaModel::LlamaModel(const LlamaConfig& config, const kernels::KernelConfig& kernels) : config_(config) {
  set_kernel_config(kernels);
}

void LlamaModel::set_kernel_config(const kernels::KernelConfig& kernels) {
  if (!kernels::kernel_path_available(kernels.path))
    throw Error(ErrorCode::kUnsupported,
                fmt::format("kernel path {}: this CPU cannot run it", kernels::kernel_path_name(kernels.path)));
  kernels_ = kernels;
}

void LlamaModel::forward(const LlamaWeights& weights, std::span<const SequenceChunk> batch, KvState& kv,
                         std::vector<float>& logits) {
  const LlamaConfig& c = config_;
  const Architecture& a = *c.arch;
  const int64_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hid = c.hidden_dim, hd = c.head_dim;
  const kernels::KernelPath path = kernels_.path;

  int64_t n_rows = 0, n_logit_rows = 0;
  obs_.clear();
  for (const SequenceChunk& ch : batch) {
    if (ch.tokens.empty()) throw Error(ErrorCode::kInvalidArgument, fmt::format("sequence {}: empty chunk", ch.seq));
    if (ch.start_pos < 0 || ch.start_pos + static_cast<int64_t>(ch.tokens.size()) > c.context_length)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("sequence {}: positions {}..{} exceed the model's context length {}", ch.seq, ch.start_pos,
                              ch.start_pos + ch.tokens.size(), c.context_length));
    for (int32_t t : ch.tokens)
      if (t < 0 || t >= c.vocab_size)
        throw Error(ErrorCode::kInvalidArgument,
                    fmt::format("sequence {}: token id {} is outside the vocabulary (0..{})", ch.seq, t, c.vocab_size - 1));
    const int64_t n = static_cast<int64_t>(ch.tokens.size()), n_logits = ch.all_logits ? n : 1;
    if (ch.observer) obs_.add(*ch.observer, ch.seq, n_rows, n, ch.start_pos, n_logit_rows, n_logits);
    n_rows += n;
    n_logit_rows += n_logits;
  }
  // With no observer in the batch, each observation site below costs one branch.
  const bool observing = obs_.active();
  auto observe = [&](Slot slot, int layer, const float* data, std::span<const int64_t> row_shape) {
    if (observing) obs_.emit(slot, layer, data, row_shape);
  };
  const int64_t dim_shape[] = {dim}, q_shape[] = {c.n_heads, hd}, kv_shape[] = {c.n_kv_heads, hd}, hid_shape[] = {hid};
  for (const SequenceChunk& ch : batch) kv.reserve(ch.seq, ch.start_pos + static_cast<int32_t>(ch.tokens.size()));
  // With a profile: the time since the last lap goes to `bucket`.
  using Clock = std::chrono::steady_clock;
  Clock::time_point last = profile_ ? Clock::now() : Clock::time_point{};
  auto lap = [&](double ForwardProfile::*bucket) {
    if (!profile_) return;
    const Clock::time_point now = Clock::now();
    profile_->*bucket += std::chrono::duration<double>(now - last).count();
    last = now;
  };
  constexpr auto kMatmul = &ForwardProfile::matmul_s, kAttention = &ForwardProfile::attention_s,
                 kOther = &ForwardProfile::other_s;

  s_.x.resize(n_rows * dim);
  s_.xn.resize(n_rows * dim);
  s_.q.resize(n_rows * q_dim);
  s_.att.resize(n_rows * q_dim);
  s_.k.resize(n_rows * kv_dim);
  s_.v.resize(n_rows * kv_dim);
  s_.gate.resize(n_rows * hid);
  s_.up.resize(n_rows * hid);
  s_.row_seq.resize(n_rows);
  s_.row_pos.resize(n_rows);

  // Token embeddings, one row per new token.
  const kernels::WeightMatrix& emb = weights.token_embedding;
  const size_t emb_row = kernels::row_bytes(emb.type, dim);
  int64_t r = 0;
  for (const SequenceChunk& ch : batch) {
    for (size_t i = 0; i < ch.tokens.size(); ++i, ++r) {
      s_.row_seq[r] = ch.seq;
      s_.row_pos[r] = ch.start_pos + static_cast<int32_t>(i);
      kernels::dequantize_row(emb.type, static_cast<const uint8_t*>(emb.data) + ch.tokens[i] * emb_row,
                              s_.x.data() + r * dim, dim);
    }
  }
  if (a.scale_embedding) {
    const float scale = std::sqrt(static_cast<float>(dim));
    for (int64_t i = 0; i < n_rows * dim; ++i) s_.x[i] *= scale;
  }
  observe(Slot::kEmbed, -1, s_.x.data(), dim_shape);

  for (int l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& w = weights.layers[l];
    observe(Slot::kResidPre, l, s_.x.data(), dim_shape);
    norm_rows(path, s_.x.data(), w.attn_norm, s_.xn.data(), n_rows, dim, c.rms_eps);
    observe(Slot::kAttnNorm, l, s_.xn.data(), dim_shape);
    lap(kOther);
    const kernels::MatmulOutput qkv[] = {{&w.wq, s_.q.data()}, {&w.wk, s_.k.data()}, {&w.wv, s_.v.data()}};
    kernels::matmul_shared_input(kernels_, qkv, s_.xn.data(), n_rows);
    lap(kMatmul);
    const float rope_base = c.layer_rope_base(l);
    for (r = 0; r < n_rows; ++r) {
      float* q = &s_.q[r * q_dim];
      float* k = &s_.k[r * kv_dim];
      float* v = &s_.v[r * kv_dim];
      if (w.bq) {
        kernels::axpy_f32(path, 1.0f, w.bq, q, q_dim);
        kernels::axpy_f32(path, 1.0f, w.bk, k, kv_dim);
        kernels::axpy_f32(path, 1.0f, w.bv, v, kv_dim);
      }
      if (w.q_norm) {
        norm_rows(path, q, w.q_norm, q, c.n_heads, hd, c.rms_eps);
        norm_rows(path, k, w.k_norm, k, c.n_kv_heads, hd, c.rms_eps);
      }
    }
    observe(Slot::kQ, l, s_.q.data(), q_shape);
    observe(Slot::kK, l, s_.k.data(), kv_shape);
    observe(Slot::kV, l, s_.v.data(), kv_shape);
    for (r = 0; r < n_rows; ++r) {
      float* q = &s_.q[r * q_dim];
      float* k = &s_.k[r * kv_dim];
      if (a.rope == RopeStyle::kHalves) {
        kernels::rope_halves(path, q, c.n_heads, hd, c.rope_dim, s_.row_pos[r], rope_base);
        kernels::rope_halves(path, k, c.n_kv_heads, hd, c.rope_dim, s_.row_pos[r], rope_base);
      } else {
        kernels::rope(path, q, c.n_heads, hd, c.rope_dim, s_.row_pos[r], rope_base);
        kernels::rope(path, k, c.n_kv_heads, hd, c.rope_dim, s_.row_pos[r], rope_base);
      }
      kv.write(l, s_.row_seq[r], s_.row_pos[r], k, &s_.v[r * kv_dim]);
    }
    observe(Slot::kQRot, l, s_.q.data(), q_shape);
    observe(Slot::kKRot, l, s_.k.data(), kv_shape);
    lap(kOther);
    if (observing && obs_.prepare_attention(l, n_rows, c.n_heads)) {
      attention<true>(l, n_rows, kv);
      obs_.emit_attention(l, c.n_heads);
    } else {
      attention<false>(l, n_rows, kv);
    }
    lap(kAttention);
    kernels::matmul(kernels_, w.wo, s_.att.data(), n_rows, s_.xn.data());
    lap(kMatmul);
    observe(Slot::kAttnOut, l, s_.xn.data(), dim_shape);
    if (w.post_attention_norm) {
      norm_rows(path, s_.xn.data(), w.post_attention_norm, s_.xn.data(), n_rows, dim, c.rms_eps);
      observe(Slot::kAttnPostNorm, l, s_.xn.data(), dim_shape);
    }
    for (int64_t i = 0; i < n_rows * dim; ++i) s_.x[i] += s_.xn[i];
    observe(Slot::kResidMid, l, s_.x.data(), dim_shape);

    norm_rows(path, s_.x.data(), w.ffn_norm, s_.xn.data(), n_rows, dim, c.rms_eps);
    observe(Slot::kFfnNorm, l, s_.xn.data(), dim_shape);
    const kernels::MatmulOutput gate_up[] = {{&w.w_gate, s_.gate.data()}, {&w.w_up, s_.up.data()}};
    lap(kOther);
    kernels::matmul_shared_input(kernels_, gate_up, s_.xn.data(), n_rows);
    lap(kMatmul);
    observe(Slot::kGate, l, s_.gate.data(), hid_shape);
    observe(Slot::kUp, l, s_.up.data(), hid_shape);
    if (a.ffn == FfnActivation::kGeluTanh)
      kernels::gelu_tanh_mul(path, s_.gate.data(), s_.up.data(), n_rows * hid);
    else
      kernels::silu_mul(path, s_.gate.data(), s_.up.data(), n_rows * hid);
    observe(Slot::kAct, l, s_.gate.data(), hid_shape);
    lap(kOther);
    kernels::matmul(kernels_, w.w_down, s_.gate.data(), n_rows, s_.xn.data());
    lap(kMatmul);
    observe(Slot::kFfnOut, l, s_.xn.data(), dim_shape);
    if (w.post_ffn_norm) {
      norm_rows(path, s_.xn.data(), w.post_ffn_norm, s_.xn.data(), n_rows, dim, c.rms_eps);
      observe(Slot::kFfnPostNorm, l, s_.xn.data(), dim_shape);
    }
    for (int64_t i = 0; i < n_rows * dim; ++i) s_.x[i] += s_.xn[i];
    observe(Slot::kResidPost, l, s_.x.data(), dim_shape);
  }

  // Final norm and classifier only for the rows whose logits are wanted.
  s_.logits_in.resize(n_logit_rows * dim);
  int64_t out = 0;
  r = 0;
  for (const SequenceChunk& ch : batch) {
    const int64_t n = static_cast<int64_t>(ch.tokens.size());
    for (int64_t i = ch.all_logits ? 0 : n - 1; i < n; ++i, ++out)
      kernels::rmsnorm(path, &s_.x[(r + i) * dim], weights.output_norm, &s_.logits_in[out * dim], dim, c.rms_eps);
    r += n;
  }
  observe(Slot::kFinalNorm, -1, s_.logits_in.data(), dim_shape);
  logits.resize(static_cast<size_t>(n_logit_rows) * c.vocab_size);
  lap(kOther);
  kernels::matmul(kernels_, weights.output, s_.logits_in.data(), n_logit_rows, logits.data());
  lap(kMatmul);
  const int64_t vocab_shape[] = {c.vocab_size};
  observe(Slot::kLogits, -1, logits.data(), vocab_shape);
}

void LlamaModel::classify(const LlamaWeights& weights, std::span<const float> resid, std::vector<float>& logits) {
  const int64_t rows = static_cast<int64_t>(resid.size()) / config_.dim;
  s_.logits_in.resize(resid.size());
  norm_rows(kernels_.path, resid.data(), weights.output_norm, s_.logits_in.data(), rows, config_.dim, config_.rms_eps);
  logits.resize(static_cast<size_t>(rows) * config_.vocab_size);
  kernels::matmul(kernels_, weights.output, s_.logits_in.data(), rows, logits.data());
}

// Causal grouped-query attention of every new row over its own sequence's
// cached positions 0..pos, run by run (block by block); parallel over (row, head).
template <bool kCapture>
void LlamaModel::attention(int layer, int64_t n_rows, KvState& kv) {
  const LlamaConfig& c = config_;
  const int64_t q_dim = c.q_dim(), hd = c.head_dim, group = c.n_heads / c.n_kv_heads;
  const float scale = c.scores_scale();
  const bool f16 = kv.type() == KvType::kF16;
  int32_t max_pos = 0;
  int64_t work = 0;  // score products, to keep tiny attention off the thread team
  for (int64_t r = 0; r < n_rows; ++r) {
    max_pos = std::max(max_pos, s_.row_pos[r]);
    work += (s_.row_pos[r] + 1) * c.n_heads * hd;
  }
#pragma omp parallel if (work >= (1 << 15))
  {
    std::vector<float> scores(static_cast<size_t>(max_pos) + 1);
#pragma omp for collapse(2) schedule(dynamic, 1) nowait  // the region's end is the barrier
    for (int64_t r = 0; r < n_rows; ++r) {
      for (int64_t h = 0; h < c.n_heads; ++h) {
        const int32_t seq = s_.row_seq[r], end = s_.row_pos[r] + 1;
        const int32_t begin = c.first_visible(layer, s_.row_pos[r]);  // a sliding window skips older blocks
        const int64_t kv_off = (h / group) * hd;
        const float* q = &s_.q[r * q_dim + h * hd];
        for (int32_t j = begin; j < end;) {
          const KvRun run = kv.run(layer, seq, j, end);
          if (f16)
            kernels::attn_scores_f16(q, static_cast<const uint16_t*>(run.k) + kv_off, run.n, run.row_stride, hd, scale,
                                     &scores[j]);
          else
            kernels::attn_scores_f32(q, static_cast<const float*>(run.k) + kv_off, run.n, run.row_stride, hd, scale,
                                     &scores[j]);
          j += run.n;
        }
        if constexpr (kCapture) {
          const Observation::AttentionRow& cap = obs_.attention_row(r);
          if (cap.scores) std::copy(&scores[begin], &scores[end], cap.scores + h * cap.keys + begin);
        }
        kernels::softmax(kernels_.path, &scores[begin], end - begin);
        if constexpr (kCapture) {
          const Observation::AttentionRow& cap = obs_.attention_row(r);
          if (cap.probs) std::copy(&scores[begin], &scores[end], cap.probs + h * cap.keys + begin);
        }
        float* o = &s_.att[r * q_dim + h * hd];
        std::memset(o, 0, hd * sizeof(float));
        for (int32_t j = begin; j < end;) {
          const KvRun run = kv.run(layer, seq, j, end);
          if (f16)
            kernels::attn_accumulate_f16(&scores[j], static_cast<const uint16_t*>(run.v) + kv_off, run.n, run.row_stride,
                                         hd, o);
          else
            kernels::attn_accumulate_f32(&scores[j], static_cast<const float*>(run.v) + kv_off, run.n, run.row_stride,
                                         hd, o);
          j += run.n;
        }
      }
    }
  }
}

}  // namespace chorus::models
