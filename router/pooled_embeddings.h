// Semantic dense features: the text's SentencePiece tokens (router/sentencepiece.h)
// looked up in a pretrained token-embedding table (e.g. use-lite's, router/use_lite.h)
// and pooled — the mean, or the mean and the element-wise max — then
// standardised per dimension with statistics of the training texts and scaled
// by 1/sqrt(out_dim), so the block has about unit L2 norm like the TF-IDF part.
// No transformer layer is run: the cost is one table row per token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/sentencepiece.h"
#include "router/sparse.h"
#include "router/use_lite.h"

namespace chorus::router {

enum class Pooling { kMean, kMeanMax };
const char* pooling_name(Pooling p);
Pooling parse_pooling(const std::string& name);  // throws chorus::Error

struct PooledEmbeddings {
  PieceTokenizer tokenizer;
  EmbeddingTable table;
  Pooling pooling = Pooling::kMean;
  std::vector<float> shift, scale;  // per output dimension: x' = (x - shift) * scale

  bool enabled() const { return !tokenizer.empty(); }
  uint32_t out_dim() const { return enabled() ? table.width * (pooling == Pooling::kMeanMax ? 2 : 1) : 0; }
  // Pooled token embeddings before standardisation (zeros for a text with no token).
  std::vector<float> pooled(std::string_view text) const;
  // Learns shift and scale on the training texts.
  void fit(const std::vector<std::string>& texts);
  // Appends the standardised block to x at indices offset .. offset + out_dim() - 1.
  void append(std::string_view text, uint32_t offset, SparseVec& x) const;
  // Throws chorus::Error(kFormat) when the table, vocabulary and statistics disagree.
  void validate() const;
};

// The use-lite directory's vocabulary and embedding table.
PooledEmbeddings load_use_lite(const std::string& dir, Pooling pooling);

}  // namespace chorus::router
