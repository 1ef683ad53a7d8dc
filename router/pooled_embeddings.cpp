#include "router/pooled_embeddings.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::router {

namespace {
constexpr uint32_t kReservedPieces = 6;  // use-lite: unknown, <s>, </s>, three user-defined symbols
}

const char* pooling_name(Pooling p) { return p == Pooling::kMeanMax ? "mean_max" : "mean"; }

Pooling parse_pooling(const std::string& name) {
  if (name == "mean") return Pooling::kMean;
  if (name == "mean_max") return Pooling::kMeanMax;
  throw Error(ErrorCode::kInvalidArgument, fmt::format("unknown embedding pooling '{}' (mean|mean_max)", name));
}

std::vector<float> PooledEmbeddings::pooled(std::string_view text) const {
  const uint32_t W = table.width;
  std::vector<float> out(out_dim(), 0.0f);
  const auto ids = tokenizer.encode(text);
  if (ids.empty()) return out;
  float* mean = out.data();
  float* mx = pooling == Pooling::kMeanMax ? out.data() + W : nullptr;
  if (mx) std::fill(mx, mx + W, -INFINITY);
  for (int32_t id : ids) {
    const float* row = table.values.data() + static_cast<size_t>(id) * W;  // id < pieces <= rows (validate)
    for (uint32_t d = 0; d < W; ++d) {
      mean[d] += row[d];
      if (mx) mx[d] = std::max(mx[d], row[d]);
    }
  }
  const float inv = 1.0f / static_cast<float>(ids.size());
  for (uint32_t d = 0; d < W; ++d) mean[d] *= inv;
  return out;
}

void PooledEmbeddings::fit(const std::vector<std::string>& texts) {
  const uint32_t D = out_dim();
  std::vector<double> sum(D, 0.0), sq(D, 0.0);
  for (const auto& t : texts) {
    const auto v = pooled(t);
    for (uint32_t d = 0; d < D; ++d) sum[d] += v[d], sq[d] += static_cast<double>(v[d]) * v[d];
  }
  const double n = std::max<double>(1.0, static_cast<double>(texts.size()));
  const double norm = 1.0 / std::sqrt(static_cast<double>(D));
  shift.resize(D);
  scale.resize(D);
  for (uint32_t d = 0; d < D; ++d) {
    const double m = sum[d] / n, var = std::max(0.0, sq[d] / n - m * m);
    shift[d] = static_cast<float>(m);
    scale[d] = static_cast<float>(norm / (std::sqrt(var) + 1e-6));
  }
}

void PooledEmbeddings::append(std::string_view text, uint32_t offset, SparseVec& x) const {
  const auto v = pooled(text);
  for (uint32_t d = 0; d < v.size(); ++d) {
    x.index.push_back(offset + d);
    x.value.push_back((v[d] - shift[d]) * scale[d]);
  }
}

void PooledEmbeddings::validate() const {
  if (!enabled()) return;
  if (table.rows == 0 || table.width == 0 || table.width > 65536 ||
      table.values.size() != static_cast<size_t>(table.rows) * table.width)
    throw Error(ErrorCode::kFormat, fmt::format("embedding table {}x{} holds {} values", table.rows, table.width,
                                                table.values.size()));
  if (tokenizer.pieces().size() > table.rows)
    throw Error(ErrorCode::kFormat, fmt::format("embedding vocabulary has {} pieces, the table {} rows",
                                                tokenizer.pieces().size(), table.rows));
  if (shift.size() != out_dim() || scale.size() != out_dim())
    throw Error(ErrorCode::kFormat, fmt::format("embedding statistics have {}/{} entries, {} pooled dimensions",
                                                shift.size(), scale.size(), out_dim()));
}

PooledEmbeddings load_use_lite(const std::string& dir, Pooling pooling) {
  PooledEmbeddings e;
  UseLiteVocab v = read_use_lite_vocab((std::filesystem::path(dir) / "vocab.json").string());
  e.tokenizer = PieceTokenizer(std::move(v.pieces), std::move(v.scores), kReservedPieces);
  e.table = read_tfjs_tensor(dir, kUseLiteEmbeddingName);
  e.pooling = pooling;
  if (e.tokenizer.pieces().size() > e.table.rows)
    throw Error(ErrorCode::kFormat, fmt::format("{}: vocab.json has {} pieces, '{}' only {} rows", dir,
                                                e.tokenizer.pieces().size(), kUseLiteEmbeddingName, e.table.rows));
  return e;
}

}  // namespace chorus::router
