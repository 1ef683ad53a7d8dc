// One forward step's observers: which chunks of the batch have one, what each
// selected, and the calls that hand it exactly those activations (its own rows,
// its names, layers and positions). The forward pass builds it per step and
// touches it only when some chunk has an observer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "chorus/observer.h"

namespace chorus::models {

// kActivationNames, by index.
enum class Slot : uint8_t {
  kEmbed, kResidPre, kAttnNorm, kQ, kK, kV, kQRot, kKRot, kScores, kProbs, kAttnOut, kAttnPostNorm,
  kResidMid, kFfnNorm, kGate, kUp, kAct, kFfnOut, kFfnPostNorm, kResidPost, kFinalNorm, kLogits, kCount
};
static_assert(static_cast<size_t>(Slot::kCount) == kActivationNames.size());

// Throws chorus::Error (kInvalidArgument) for an unknown name or a layer outside 0..n_layers-1.
void validate_selection(const ObserverSelection& s, int32_t n_layers);

// Consecutive rows of a chunk (token rows or logit rows).
struct RowRun {
  int64_t first, n;
};

class Observation {
 public:
  // Where one row's attention scores and probabilities go: [heads, keys], or null.
  struct AttentionRow {
    float* scores = nullptr;
    float* probs = nullptr;
    int64_t keys = 0;
  };

  void clear();
  // A chunk with an observer: its token rows start at `row` of the batch, its
  // logit rows (n_logits of them, the last ones of the chunk) at `logit_row`.
  void add(const Observer& observer, int32_t seq, int64_t row, int64_t n, int32_t start_pos, int64_t logit_row,
           int64_t n_logits);
  bool active() const { return !chunks_.empty(); }

  // Hands rows of `data` (all the batch's token rows, or for final_norm and
  // logits all its logit rows; each row shaped `row_shape`) to the observers
  // that selected this slot of this layer (-1: not a layer's).
  void emit(Slot slot, int32_t layer, const float* data, std::span<const int64_t> row_shape);

  // Before a layer's attention: the rows whose scores or probs are wanted get
  // buffers (zeroed); false when none are.
  bool prepare_attention(int32_t layer, int64_t n_rows, int64_t n_heads);
  const AttentionRow& attention_row(int64_t r) const { return attention_rows_[r]; }
  // After it: hands the captured scores and probs over.
  void emit_attention(int32_t layer, int64_t n_heads);

  // Sequences whose observer returned false during this step.
  const std::vector<int32_t>& cancelled() const { return cancelled_; }

 private:
  struct Chunk {
    const Observer* observer;
    int32_t seq;
    int64_t row, n;
    int32_t start_pos;
    int64_t logit_row;
    int32_t logit_pos;
    uint32_t slots;            // bit per Slot
    std::vector<char> layers;  // empty: all
    std::vector<RowRun> runs, logit_runs;  // the selected positions' rows
    bool cancelled = false;
    int64_t attention_offset = -1;  // into the capture buffers; -1: not captured this layer
  };
  bool wants(const Chunk& c, Slot slot, int32_t layer) const;
  void call(Chunk& c, Slot slot, int32_t layer, int32_t position, std::span<const int64_t> shape, const float* data);

  std::vector<Chunk> chunks_;
  std::vector<float> scores_, probs_;
  std::vector<AttentionRow> attention_rows_;
  std::vector<int32_t> cancelled_;
  std::string name_;
};

}  // namespace chorus::models
