#include "router/wide_mlp.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Dense>

#include "router/adam.h"
#include "router/train_loop.h"

namespace chorus::router {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMat>;
using CRowMap = Eigen::Map<const RowMat>;
using VecMap = Eigen::Map<Eigen::VectorXf>;
using CVecMap = Eigen::Map<const Eigen::VectorXf>;

void WideMLP::init(uint32_t in, uint32_t hid, uint32_t out, uint64_t seed) {
  in_dim = in, hidden = hid, out_dim = out;
  std::mt19937_64 rng(seed);
  // Inputs are L2-normalised with ~100 non-zeros: scale w1 for that fan-in.
  std::normal_distribution<float> n1(0.0f, std::sqrt(2.0f / (100.0f + hid)));
  std::normal_distribution<float> n2(0.0f, std::sqrt(2.0f / (hid + out)));
  w1.resize(static_cast<size_t>(in) * hid);
  for (auto& x : w1) x = n1(rng);
  b1.assign(hid, 0.0f);
  w2.resize(static_cast<size_t>(hid) * out);
  for (auto& x : w2) x = n2(rng);
  b2.assign(out, 0.0f);
}

bool WideMLP::shapes_ok() const {
  return in_dim > 0 && hidden > 0 && out_dim > 0 && w1.size() == static_cast<size_t>(in_dim) * hidden &&
         b1.size() == hidden && w2.size() == static_cast<size_t>(hidden) * out_dim && b2.size() == out_dim;
}

void WideMLP::logits(const SparseVec& x, float* out) const {
  thread_local Eigen::VectorXf h;
  h = CVecMap(b1.data(), hidden);
  for (size_t j = 0; j < x.size(); ++j) {
    const uint32_t r = x.index[j];
    if (r >= in_dim) continue;
    h.noalias() += x.value[j] * CVecMap(w1.data() + static_cast<size_t>(r) * hidden, hidden);
  }
  h = h.cwiseMax(0.0f);
  VecMap o(out, out_dim);
  o = CVecMap(b2.data(), out_dim);
  o.noalias() += CRowMap(w2.data(), hidden, out_dim).transpose() * h;
}

double train_wide_mlp(WideMLP& model, const TrainSet& data, const TrainConfig& cfg, const EpochHook& hook) {
  const uint32_t D = model.in_dim, H = model.hidden, C = model.out_dim;
  std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 7);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  AdamConfig ac;
  ac.lr = cfg.lr;
  ac.weight_decay = cfg.weight_decay;
  Adam adam(ac);
  std::vector<float> m1(model.w1.size(), 0.0f), v1(model.w1.size(), 0.0f);
  std::vector<float> mb1(H, 0.0f), vb1(H, 0.0f), m2(model.w2.size(), 0.0f), v2(model.w2.size(), 0.0f);
  std::vector<float> mb2(C, 0.0f), vb2(C, 0.0f);
  std::vector<int32_t> slot(D, -1);  // feature row → position in the batch's gradient rows
  std::vector<uint32_t> rows;
  RowMat grow;  // gradient rows for w1

  const float keep_in = 1.0f - cfg.dropout_input, keep_h = 1.0f - cfg.dropout_hidden;
  WideMLP best = model;

  auto step = [&](const std::vector<size_t>& idx) -> double {
    const int B = static_cast<int>(idx.size());
    RowMat pre(B, H), act(B, H), mask(B, H);
    std::vector<std::vector<std::pair<uint32_t, float>>> xin(B);
    rows.clear();
    for (int i = 0; i < B; ++i) {
      const SparseVec& x = data.x[idx[i]];
      pre.row(i) = CVecMap(model.b1.data(), H).transpose();
      for (size_t j = 0; j < x.size(); ++j) {
        if (cfg.dropout_input > 0 && uni(rng) >= keep_in) continue;
        const uint32_t r = x.index[j];
        const float v = x.value[j] / keep_in;
        xin[i].emplace_back(r, v);
        pre.row(i).noalias() += v * CVecMap(model.w1.data() + static_cast<size_t>(r) * H, H).transpose();
        if (slot[r] < 0) {
          slot[r] = static_cast<int32_t>(rows.size());
          rows.push_back(r);
        }
      }
    }
    for (int i = 0; i < B; ++i)
      for (uint32_t k = 0; k < H; ++k) mask(i, k) = (cfg.dropout_hidden > 0 && uni(rng) >= keep_h) ? 0.0f : 1.0f / keep_h;
    act = pre.cwiseMax(0.0f).cwiseProduct(mask);
    RowMat z = act * CRowMap(model.w2.data(), H, C);
    z.rowwise() += CVecMap(model.b2.data(), C).transpose();
    // softmax + weighted cross-entropy gradient
    double loss = 0, wsum = 0;
    RowMat g(B, C);
    for (int i = 0; i < B; ++i) {
      const float mx = z.row(i).maxCoeff();
      g.row(i) = (z.row(i).array() - mx).exp();
      const float s = g.row(i).sum();
      g.row(i) /= s;
      const int y = data.y[idx[i]];
      const float w = data.class_weight.empty() ? 1.0f : data.class_weight[y];
      const float eps = cfg.label_smoothing;
      loss += -w * std::log(std::max(g(i, y), 1e-12f));
      g.row(i).array() -= eps / C;
      g(i, y) -= 1.0f - eps;
      g.row(i) *= w;
      wsum += w;
    }
    g /= static_cast<float>(std::max(wsum, 1e-6));
    RowMat gw2 = act.transpose() * g;
    Eigen::VectorXf gb2 = g.colwise().sum().transpose();
    RowMat dact = g * CRowMap(model.w2.data(), H, C).transpose();
    RowMat dpre = dact.cwiseProduct(mask).cwiseProduct((pre.array() > 0.0f).cast<float>().matrix());
    Eigen::VectorXf gb1 = dpre.colwise().sum().transpose();
    grow.setZero(static_cast<Eigen::Index>(rows.size()), H);
    for (int i = 0; i < B; ++i)
      for (auto& [r, v] : xin[i]) grow.row(slot[r]).noalias() += v * dpre.row(i);
    adam.next_step();
    adam.update(model.w2.data(), m2.data(), v2.data(), gw2.data(), model.w2.size());
    adam.update(model.b2.data(), mb2.data(), vb2.data(), gb2.data(), C);
    adam.update(model.b1.data(), mb1.data(), vb1.data(), gb1.data(), H);
    for (size_t k = 0; k < rows.size(); ++k) {
      const size_t off = static_cast<size_t>(rows[k]) * H;
      adam.update(model.w1.data() + off, m1.data() + off, v1.data() + off, grow.row(k).data(), H);
      slot[rows[k]] = -1;
    }
    return loss;
  };
  return run_epochs(data.x.size(), cfg, rng, step, hook, [&] { best = model; }, [&] { model = std::move(best); });
}

}  // namespace chorus::router
