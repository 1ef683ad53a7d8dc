// What a model does with a prompt, position by position and layer by layer:
// the next-token distribution, the residual stream's size, where each head
// looks, and the logit lens (the final norm and classifier applied to each
// layer's output: what the layer "would say"). One forward pass with an
// observer; `chorus explain` prints it, as text, JSON or a page.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/loaded_model.h"
#include "runtime/logprobs.h"

namespace chorus::runtime {

struct ExplainOptions {
  std::vector<int32_t> layers;  // the layers to explain; empty: all
  int32_t top_k = 5;            // next tokens and logit-lens tokens per position
  int32_t top_positions = 3;    // attended positions per head and position
};

struct AttendedPosition {
  int32_t position;
  float prob;
};

struct ExplainedLayer {
  int32_t layer;
  std::vector<float> resid_norm;  // per position: L2 norm of the residual stream leaving the layer
  std::vector<float> probs;       // [heads, positions, positions]: attention of each query over the keys
  std::vector<float> entropy;     // [heads, positions]: entropy of each query's attention, in bits
  std::vector<std::vector<AttendedPosition>> top;  // [heads * positions]: the most attended keys, most first
  std::vector<std::vector<TokenLogprob>> lens;     // per position: the logit lens's top-k
};

struct Explanation {
  std::vector<int32_t> tokens;
  std::vector<std::string> pieces;  // each token's bytes (not printable-escaped)
  int32_t n_heads = 0;
  std::vector<std::vector<TokenLogprob>> next;  // per position: the top-k next tokens
  std::vector<ExplainedLayer> layers;
};

// The most prompt tokens explain reads (its attention maps grow with the square).
inline constexpr int32_t kMaxExplainTokens = 512;

// Throws chorus::Error for an empty or too long prompt, a layer out of range or top_k < 1.
Explanation explain(LoadedModel& m, std::span<const int32_t> tokens, const ExplainOptions& options);

}  // namespace chorus::runtime
