// chorus/observer.h — seeing inside the forward pass. An observer attached to a
// request is handed the activations it selected, by name, as they are computed
// (docs/inspection.md lists the names and their TransformerLens equivalents).
// Standard library only: this header is part of the public C++ API.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus {

// The activation names, without the "blk.{l}." of the per-layer ones. A layer
// reports only the slots its architecture has (attn.post_norm and
// ffn.post_norm are Gemma 3's).
inline constexpr std::array<std::string_view, 22> kActivationNames = {
    "embed",          // the token embeddings as the residual stream receives them
    "resid_pre",      // blk.{l}: the residual stream entering the layer
    "attn_norm",      // its RMSNorm, the attention's input
    "attn.q",         // projections (+ bias, + per-head norm where the model has them), before rope
    "attn.k",
    "attn.v",
    "attn.q_rot",     // q and k after rope
    "attn.k_rot",
    "attn.scores",    // scaled q.k per head over key positions; -inf where the query does not see the key
    "attn.probs",     // softmax of the scores; 0 where the query does not see the key
    "attn.out",       // the attention output projected back to the residual width
    "attn.post_norm", // its norm before the residual add
    "resid_mid",      // the residual stream after the attention
    "ffn_norm",       // the feed-forward's input
    "ffn.gate",       // gate and up projections, before the activation
    "ffn.up",
    "ffn.act",        // act(gate) * up, the down projection's input
    "ffn.out",        // the down projection
    "ffn.post_norm",  // its norm before the residual add
    "resid_post",     // the residual stream leaving the layer
    "final_norm",     // the classifier's input (only rows whose logits the step computes)
    "logits",         // the classifier's output (the same rows)
};

// What an observer wants to see. Names are required (none selected: nothing is
// reported); an empty layer or position list means every layer or position.
struct ObserverSelection {
  std::vector<std::string> names;    // from kActivationNames; an unknown name is refused when the request is submitted
  std::vector<int32_t> layers;       // for the per-layer names
  std::vector<int32_t> positions;    // positions in the request's sequence (prompt and generated tokens)
};

// One activation, for consecutive positions of one request. The data belong to
// the forward pass and are valid only during the call: copy what you keep.
struct ActivationView {
  int64_t request;              // the engine's request id (a bare forward pass: the chunk's sequence id)
  std::string_view name;        // the full name: "embed", "blk.3.attn.probs", "logits"
  int32_t layer;                // -1 for embed, final_norm and logits
  int32_t position;             // the position of the first row
  // Row-major: [rows, width]; q/k/v and their rotations [rows, heads, head_dim];
  // scores and probs [rows, heads, keys] with keys = the last row's position + 1.
  std::span<const int64_t> shape;
  const float* data;
};

// Returns false to cancel the request: it finishes as cancelled after this forward step.
using ActivationCallback = std::function<bool(const ActivationView&)>;

struct Observer {
  ObserverSelection select;
  ActivationCallback on_activation;
};

}  // namespace chorus
