#include "models/observation.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/utf8.h"

namespace chorus::models {

namespace {

uint32_t bit(Slot s) { return 1u << static_cast<unsigned>(s); }

uint32_t slot_bits(const ObserverSelection& s) {
  uint32_t bits = 0;
  for (const std::string& name : s.names) {
    const auto it = std::find(kActivationNames.begin(), kActivationNames.end(), name);
    if (it == kActivationNames.end())
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("observer: unknown activation name \"{}\" (known: {})", printable(name),
                              fmt::join(kActivationNames, ", ")));
    bits |= 1u << (it - kActivationNames.begin());
  }
  return bits;
}

// Runs of consecutive selected rows among n rows whose first is at `first_pos`.
std::vector<RowRun> selected_runs(const std::vector<int32_t>& positions, int32_t first_pos, int64_t n) {
  if (positions.empty()) return {{0, n}};
  std::vector<RowRun> runs;
  for (int64_t i = 0; i < n; ++i) {
    if (std::find(positions.begin(), positions.end(), first_pos + i) == positions.end()) continue;
    if (!runs.empty() && runs.back().first + runs.back().n == i)
      ++runs.back().n;
    else
      runs.push_back({i, 1});
  }
  return runs;
}

bool is_logit_slot(Slot s) { return s == Slot::kFinalNorm || s == Slot::kLogits; }

}  // namespace

void validate_selection(const ObserverSelection& s, int32_t n_layers) {
  slot_bits(s);
  for (int32_t l : s.layers)
    if (l < 0 || l >= n_layers)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("observer: layer {} is outside the model's layers 0..{}", l, n_layers - 1));
}

void Observation::clear() {
  chunks_.clear();
  cancelled_.clear();
}

void Observation::add(const Observer& observer, int32_t seq, int64_t row, int64_t n, int32_t start_pos,
                      int64_t logit_row, int64_t n_logits) {
  Chunk c{&observer, seq, row, n, start_pos, logit_row, static_cast<int32_t>(start_pos + n - n_logits),
          slot_bits(observer.select), {}, selected_runs(observer.select.positions, start_pos, n),
          selected_runs(observer.select.positions, static_cast<int32_t>(start_pos + n - n_logits), n_logits)};
  if (c.slots == 0) return;
  for (int32_t l : observer.select.layers) {
    if (c.layers.size() <= static_cast<size_t>(l)) c.layers.resize(l + 1, 0);
    c.layers[l] = 1;
  }
  chunks_.push_back(std::move(c));
}

bool Observation::wants(const Chunk& c, Slot slot, int32_t layer) const {
  if (c.cancelled || !(c.slots & bit(slot))) return false;
  if (layer < 0 || c.layers.empty()) return true;
  return static_cast<size_t>(layer) < c.layers.size() && c.layers[layer];
}

void Observation::call(Chunk& c, Slot slot, int32_t layer, int32_t position, std::span<const int64_t> shape,
                       const float* data) {
  const std::string_view base = kActivationNames[static_cast<size_t>(slot)];
  if (layer < 0)
    name_.assign(base);
  else
    name_ = fmt::format("blk.{}.{}", layer, base);
  const ActivationView view{c.seq, name_, layer, position, shape, data};
  if (!c.observer->on_activation(view)) {
    c.cancelled = true;
    cancelled_.push_back(c.seq);
  }
}

void Observation::emit(Slot slot, int32_t layer, const float* data, std::span<const int64_t> row_shape) {
  int64_t stride = 1;
  for (int64_t d : row_shape) stride *= d;
  int64_t shape[4];
  std::copy(row_shape.begin(), row_shape.end(), shape + 1);
  const bool logit_rows = is_logit_slot(slot);
  for (Chunk& c : chunks_) {
    if (!wants(c, slot, layer)) continue;
    const int64_t row = logit_rows ? c.logit_row : c.row;
    const int32_t pos = logit_rows ? c.logit_pos : c.start_pos;
    for (const RowRun& run : logit_rows ? c.logit_runs : c.runs) {
      shape[0] = run.n;
      call(c, slot, layer, pos + static_cast<int32_t>(run.first), {shape, row_shape.size() + 1},
           data + (row + run.first) * stride);
      if (c.cancelled) break;
    }
  }
}

bool Observation::prepare_attention(int32_t layer, int64_t n_rows, int64_t n_heads) {
  int64_t size = 0;
  for (Chunk& c : chunks_) {
    const bool want = wants(c, Slot::kScores, layer) || wants(c, Slot::kProbs, layer);
    c.attention_offset = want ? size : -1;
    if (want) size += c.n * n_heads * (c.start_pos + c.n);
  }
  if (size == 0) return false;
  scores_.assign(size, -std::numeric_limits<float>::infinity());
  probs_.assign(size, 0.0f);
  attention_rows_.assign(n_rows, {});
  for (const Chunk& c : chunks_) {
    if (c.attention_offset < 0) continue;
    const int64_t keys = c.start_pos + c.n;
    for (int64_t i = 0; i < c.n; ++i) {
      const int64_t off = c.attention_offset + i * n_heads * keys;
      attention_rows_[c.row + i] = {&scores_[off], &probs_[off], keys};
    }
  }
  return true;
}

void Observation::emit_attention(int32_t layer, int64_t n_heads) {
  for (Chunk& c : chunks_) {
    if (c.attention_offset < 0) continue;
    const int64_t keys = c.start_pos + c.n, per_row = n_heads * keys;
    for (Slot slot : {Slot::kScores, Slot::kProbs}) {
      if (!wants(c, slot, layer)) continue;
      const float* base = (slot == Slot::kScores ? scores_.data() : probs_.data()) + c.attention_offset;
      for (const RowRun& run : c.runs) {
        const int64_t shape[3] = {run.n, n_heads, keys};
        call(c, slot, layer, c.start_pos + static_cast<int32_t>(run.first), shape, base + run.first * per_row);
        if (c.cancelled) break;
      }
    }
  }
}

}  // namespace chorus::models
