// Text → hashed TF-IDF features: word unigrams and bigrams plus character
// n-grams of each word (on Unicode code points), hashed into a fixed space,
// with sublinear term frequency, IDF learned from training texts, and L2
// normalisation. Lower-casing is Unicode-aware (router/unicode.h) and words are
// split with PCRE2 in UTF+UCP mode on letters, marks and digits, so accented and
// non-Latin text keeps its features.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/sparse.h"

namespace chorus::router {

struct FeatureConfig {
  uint32_t dim = 1u << 15;   // hash buckets
  int word_ngrams = 2;       // 1 = unigrams, 2 = + bigrams
  int char_min = 2;          // character n-grams of the padded word "<word>"
  int char_max = 5;
  float char_weight = 1.0f;  // relative weight of character n-grams vs words
  bool sublinear_tf = true;  // 1 + log(tf)
  uint64_t seed = 0x63686f72;  // "chor": part of the hash, stored in the file

  nlohmann::json to_json() const;
  static FeatureConfig from_json(const nlohmann::json& j);  // throws chorus::Error
};

// Lower-cased words of a text (UTF-8 out), split on Unicode letters/marks/digits.
std::vector<std::string> tokenize(std::string_view text);

class Featurizer {
 public:
  Featurizer() = default;
  explicit Featurizer(FeatureConfig cfg) : cfg_(cfg), idf_(cfg.dim, 1.0f) {}

  const FeatureConfig& config() const { return cfg_; }
  const std::vector<float>& idf() const { return idf_; }
  void set_idf(std::vector<float> idf);  // throws chorus::Error on size mismatch

  struct Term {
    uint32_t index;  // hash bucket
    float count;     // occurrences in the text
    float scale;     // largest kind weight in the bucket (1 for words, char_weight for char n-grams)
  };
  // Hashed raw term counts (sorted by index), before TF/IDF weighting.
  std::vector<Term> counts(std::string_view text) const;
  // Learns smoothed IDF = ln((1 + N) / (1 + df)) + 1 over the given texts.
  void fit_idf(const std::vector<std::string>& texts);
  // Weighted, L2-normalised sparse vector.
  SparseVec transform(std::string_view text) const;

 private:
  FeatureConfig cfg_;
  std::vector<float> idf_;
};

}  // namespace chorus::router
