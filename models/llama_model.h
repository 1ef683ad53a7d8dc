// The Llama-family forward pass, batch first: one call computes the new tokens
// of every sequence in the batch together, so each weight matrix is read once
// per step and prefill is a matrix-matrix product.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "chorus/observer.h"
#include "kernels/kernel_config.h"
#include "models/kv_state.h"
#include "models/llama_config.h"
#include "models/llama_weights.h"
#include "models/observation.h"

namespace chorus::models {

// The new tokens of one sequence: they take positions start_pos, start_pos+1, ...
struct SequenceChunk {
  int32_t seq;
  std::span<const int32_t> tokens;
  int32_t start_pos;
  bool all_logits = false;  // logits for every token, else for the last one only
  const Observer* observer = nullptr;  // sees this chunk's rows of what it selected (kept alive by the caller)
};

// Where forward passes spent their time, accumulated over calls (for
// benchmarks): the weight products, attention over the cache, the rest
// (embedding, norms, rope, activations, residuals).
struct ForwardProfile {
  double matmul_s = 0, attention_s = 0, other_s = 0;
};

class LlamaModel {
 public:
  // Throws chorus::Error when the CPU cannot run the kernels' path.
  explicit LlamaModel(const LlamaConfig& config,
                      const kernels::KernelConfig& kernels = kernels::default_kernel_config());

  const LlamaConfig& config() const { return config_; }
  const kernels::KernelConfig& kernel_config() const { return kernels_; }
  void set_kernel_config(const kernels::KernelConfig& kernels);
  // Forward passes add their times to *profile (null: not measured).
  void set_profile(ForwardProfile* profile) { profile_ = profile; }

  // Appends the chunks' K/V to `kv` and writes the logits rows in batch order
  // (per chunk: all tokens or the last) to `logits` (rows x vocab_size).
  // The weights are passed per call, not held: they come from a pinned store
  // handle (or a file mapping) that the caller keeps alive for the call.
  // Throws chorus::Error on a token id out of range or a position past the context.
  void forward(const LlamaWeights& weights, std::span<const SequenceChunk> batch, KvState& kv,
               std::vector<float>& logits);
  // The final norm and the classifier applied to rows of the residual stream
  // (rows x dim) — the logit lens on a layer's output; logits: rows x vocab_size.
  void classify(const LlamaWeights& weights, std::span<const float> resid, std::vector<float>& logits);
  // The sequences whose observer returned false during the last forward (their rows were computed all the same).
  const std::vector<int32_t>& cancelled_by_observers() const { return obs_.cancelled(); }

 private:
  struct Scratch {
    std::vector<float> x, xn, q, k, v, att, gate, up, logits_in;
    std::vector<int32_t> row_seq, row_pos;
  };
  template <bool kCapture>  // kCapture: copy the scores and probs of the rows obs_ prepared
  void attention(int layer, int64_t n_rows, KvState& kv);

  LlamaConfig config_;
  kernels::KernelConfig kernels_;
  ForwardProfile* profile_ = nullptr;
  Scratch s_;
  Observation obs_;
};

}  // namespace chorus::models
