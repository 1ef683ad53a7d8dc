// Reader for the token-embedding table and SentencePiece vocabulary of the
// Universal Sentence Encoder lite TF.js graph model (a directory holding
// model.json, its weight shards and vocab.json). Only the embedding table
// `module/Embeddings_en` is read; the transformer layers are not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::router {

struct UseLiteVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;  // a null score in vocab.json reads as 0, as the TF.js tokenizer treats it
};

struct EmbeddingTable {
  uint32_t rows = 0, width = 0;
  std::vector<float> values;  // rows × width, row-major
};

// vocab.json: a JSON array of [piece, score] pairs. Throws chorus::Error naming
// the file and the entry.
UseLiteVocab read_use_lite_vocab(const std::string& path);

// model.json's weightsManifest: groups of {paths, weights: [{name, shape, dtype}]},
// each group's weights stored in order across its shard files (raw
// little-endian). Reads the float32 tensor `name` (2-D). Throws chorus::Error
// naming the file, the field or the byte offset.
EmbeddingTable read_tfjs_tensor(const std::string& dir, const std::string& name);

inline constexpr const char* kUseLiteEmbeddingName = "module/Embeddings_en";

}  // namespace chorus::router
