#include "router/text_features.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "chorus/error.h"
#include "router/json_fields.h"
#include "router/unicode.h"

namespace chorus::router {

namespace {

// Compiled once; match data is per thread (pcre2 match data is not shareable).
struct WordPattern {
  pcre2_code* code = nullptr;
  WordPattern() {
    int err = 0;
    PCRE2_SIZE off = 0;
    const char* pat = "[\\p{L}\\p{M}\\p{N}]+";
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                         &off, nullptr);
    if (code) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }
  ~WordPattern() { pcre2_code_free(code); }
};

const WordPattern& word_pattern() {
  static WordPattern p;
  if (!p.code) throw Error(ErrorCode::kInternal, "router: cannot compile the PCRE2 word pattern");
  return p;
}

struct MatchData {
  pcre2_match_data* md = nullptr;
  explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};

inline uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct Hasher {  // FNV-1a 64 with a namespace byte, then mixed
  uint64_t h;
  Hasher(uint64_t seed, uint8_t ns) : h(0xcbf29ce484222325ULL ^ mix64(seed)) { byte(ns); }
  void byte(uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  void bytes(std::string_view s) {
    for (unsigned char c : s) byte(c);
  }
  void cp(char32_t c) {
    for (int i = 0; i < 4; ++i) byte(static_cast<uint8_t>(c >> (8 * i)));
  }
  uint32_t bucket(uint32_t dim) const { return static_cast<uint32_t>(mix64(h) % dim); }
};

}  // namespace

nlohmann::json FeatureConfig::to_json() const {
  return {{"dim", dim},           {"word_ngrams", word_ngrams},   {"char_min", char_min}, {"char_max", char_max},
          {"char_weight", char_weight}, {"sublinear_tf", sublinear_tf}, {"seed", seed}};
}

FeatureConfig FeatureConfig::from_json(const nlohmann::json& j) {
  FeatureConfig c;
  const std::string w = "router features config";
  c.dim = static_cast<uint32_t>(json_int(j, "dim", 1, 1 << 24, w));
  c.word_ngrams = static_cast<int>(json_int(j, "word_ngrams", 0, 3, w));
  c.char_min = static_cast<int>(json_int(j, "char_min", 0, 8, w));
  c.char_max = static_cast<int>(json_int(j, "char_max", 0, 8, w));
  c.char_weight = json_float(j, "char_weight", w);
  c.sublinear_tf = json_bool(j, "sublinear_tf", w);
  const auto& seed = json_field(j, "seed", w);
  if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0))
    throw Error(ErrorCode::kFormat, "router features config: 'seed' must be a non-negative integer");
  c.seed = seed.get<uint64_t>();
  if (c.dim == 0 || c.dim > (1u << 24) || c.word_ngrams < 0 || c.word_ngrams > 3 || c.char_min < 0 ||
      c.char_max > 8 || (c.char_max > 0 && c.char_min < 1) || c.char_min > c.char_max ||
      !std::isfinite(c.char_weight))
    throw Error(ErrorCode::kFormat,
                fmt::format("router features config out of range: dim={} word_ngrams={} char={}..{}", c.dim,
                            c.word_ngrams, c.char_min, c.char_max));
  return c;
}

std::vector<std::string> tokenize(std::string_view text) {
  const std::string lower = lower_utf8(text);
  const auto& pat = word_pattern();
  thread_local MatchData md(pat.code);
  std::vector<std::string> words;
  PCRE2_SIZE start = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(lower.data());
  while (start < lower.size()) {
    int rc = pcre2_match(pat.code, subject, lower.size(), start, PCRE2_NO_UTF_CHECK, md.md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.md);
    if (ov[1] <= ov[0]) break;
    words.emplace_back(lower.substr(ov[0], ov[1] - ov[0]));
    start = ov[1];
  }
  return words;
}

void Featurizer::set_idf(std::vector<float> idf) {
  if (idf.size() != cfg_.dim)
    throw Error(ErrorCode::kFormat, fmt::format("router idf has {} entries, features need {}", idf.size(), cfg_.dim));
  idf_ = std::move(idf);
}

std::vector<Featurizer::Term> Featurizer::counts(std::string_view text) const {
  const auto words = tokenize(text);
  std::vector<std::pair<uint32_t, float>> raw;
  raw.reserve(words.size() * 24);
  const uint32_t D = cfg_.dim;
  for (size_t i = 0; i < words.size(); ++i) {
    if (cfg_.word_ngrams >= 1) {
      Hasher h(cfg_.seed, 'w');
      h.bytes(words[i]);
      raw.emplace_back(h.bucket(D), 1.0f);
    }
    for (int n = 2; n <= cfg_.word_ngrams; ++n) {
      if (i + n > words.size()) break;
      Hasher h(cfg_.seed, static_cast<uint8_t>('0' + n));
      for (int k = 0; k < n; ++k) {
        h.bytes(words[i + k]);
        h.byte(0x1F);
      }
      raw.emplace_back(h.bucket(D), 1.0f);
    }
    if (cfg_.char_max > 0) {
      const std::u32string cps = utf8_decode(words[i]);
      std::u32string w;
      w.reserve(cps.size() + 2);
      w.push_back(U'<');
      w.append(cps);
      w.push_back(U'>');
      const int L = static_cast<int>(w.size());
      for (int n = cfg_.char_min; n <= cfg_.char_max; ++n) {
        for (int s = 0; s + n <= L; ++s) {
          if (n == 1 && (w[s] == U'<' || w[s] == U'>')) continue;
          Hasher h(cfg_.seed, 'c');
          for (int k = 0; k < n; ++k) h.cp(w[s + k]);
          raw.emplace_back(h.bucket(D), cfg_.char_weight);
        }
      }
    }
  }
  std::sort(raw.begin(), raw.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<Term> out;
  out.reserve(raw.size());
  for (auto& r : raw) {
    if (!out.empty() && out.back().index == r.first) {
      out.back().count += 1.0f;
      out.back().scale = std::max(out.back().scale, r.second);
    } else {
      out.push_back({r.first, 1.0f, r.second});
    }
  }
  return out;
}

void Featurizer::fit_idf(const std::vector<std::string>& texts) {
  std::vector<uint32_t> df(cfg_.dim, 0);
  for (const auto& t : texts)
    for (const auto& term : counts(t)) ++df[term.index];
  const double N = static_cast<double>(texts.size());
  idf_.assign(cfg_.dim, 1.0f);
  for (uint32_t i = 0; i < cfg_.dim; ++i) idf_[i] = static_cast<float>(std::log((1.0 + N) / (1.0 + df[i])) + 1.0);
}

SparseVec Featurizer::transform(std::string_view text) const {
  SparseVec v;
  const auto c = counts(text);
  v.index.reserve(c.size());
  v.value.reserve(c.size());
  double norm = 0;
  for (const auto& term : c) {
    const uint32_t i = term.index;
    float w = cfg_.sublinear_tf ? 1.0f + std::log(term.count) : term.count;
    w *= idf_[i] * term.scale;
    if (!(w > 0)) continue;
    v.index.push_back(i);
    v.value.push_back(w);
    norm += static_cast<double>(w) * w;
  }
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (auto& x : v.value) x *= inv;
  }
  return v;
}

}  // namespace chorus::router
