#include "router/linear_classifier.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Dense>

#include "router/adam.h"
#include "router/train_loop.h"

namespace chorus::router {

using CVecMap = Eigen::Map<const Eigen::VectorXf>;
using VecMap = Eigen::Map<Eigen::VectorXf>;

void LinearClassifier::init(uint32_t in, uint32_t out) {
  in_dim = in, out_dim = out;
  w.assign(static_cast<size_t>(in) * out, 0.0f);
  b.assign(out, 0.0f);
}

bool LinearClassifier::shapes_ok() const {
  return in_dim > 0 && out_dim > 0 && w.size() == static_cast<size_t>(in_dim) * out_dim && b.size() == out_dim;
}

void LinearClassifier::logits(const SparseVec& x, float* out) const {
  VecMap o(out, out_dim);
  o = CVecMap(b.data(), out_dim);
  for (size_t j = 0; j < x.size(); ++j) {
    const uint32_t r = x.index[j];
    if (r >= in_dim) continue;
    o.noalias() += x.value[j] * CVecMap(w.data() + static_cast<size_t>(r) * out_dim, out_dim);
  }
}

double train_linear(LinearClassifier& model, const TrainSet& data, const TrainConfig& cfg, const EpochHook& hook) {
  const uint32_t D = model.in_dim, C = model.out_dim;
  std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 11);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  AdamConfig ac;
  ac.lr = cfg.lr;
  ac.weight_decay = cfg.weight_decay;
  Adam adam(ac);
  std::vector<float> m(model.w.size(), 0.0f), v(model.w.size(), 0.0f), mb(C, 0.0f), vb(C, 0.0f);
  std::vector<int32_t> slot(D, -1);
  std::vector<uint32_t> rows;
  std::vector<float> grow;
  const float keep_in = 1.0f - cfg.dropout_input;
  LinearClassifier best = model;
  Eigen::VectorXf z(C), gb(C);

  auto step = [&](const std::vector<size_t>& idx) -> double {
    rows.clear();
    grow.clear();
    gb.setZero();
    double loss = 0, wsum = 0;
    std::vector<std::pair<uint32_t, float>> xin;
    for (size_t i : idx) {
      const SparseVec& x = data.x[i];
      xin.clear();
      z = CVecMap(model.b.data(), C);
      for (size_t j = 0; j < x.size(); ++j) {
        if (cfg.dropout_input > 0 && uni(rng) >= keep_in) continue;
        const uint32_t r = x.index[j];
        const float val = x.value[j] / keep_in;
        xin.emplace_back(r, val);
        z.noalias() += val * CVecMap(model.w.data() + static_cast<size_t>(r) * C, C);
      }
      const float mx = z.maxCoeff();
      z = (z.array() - mx).exp();
      z /= z.sum();
      const int y = data.y[i];
      const float w = data.class_weight.empty() ? 1.0f : data.class_weight[y];
      loss += -w * std::log(std::max(z[y], 1e-12f));
      z.array() -= cfg.label_smoothing / C;
      z[y] -= 1.0f - cfg.label_smoothing;
      z *= w;
      wsum += w;
      gb += z;
      for (auto& [r, val] : xin) {
        if (slot[r] < 0) {
          slot[r] = static_cast<int32_t>(rows.size());
          rows.push_back(r);
          grow.resize(grow.size() + C, 0.0f);
        }
        VecMap(grow.data() + static_cast<size_t>(slot[r]) * C, C).noalias() += val * z;
      }
    }
    const float inv = 1.0f / static_cast<float>(std::max(wsum, 1e-6));
    gb *= inv;
    for (auto& gx : grow) gx *= inv;
    adam.next_step();
    adam.update(model.b.data(), mb.data(), vb.data(), gb.data(), C);
    for (size_t k = 0; k < rows.size(); ++k) {
      const size_t off = static_cast<size_t>(rows[k]) * C;
      adam.update(model.w.data() + off, m.data() + off, v.data() + off, grow.data() + k * C, C);
      slot[rows[k]] = -1;
    }
    return loss;
  };
  return run_epochs(data.x.size(), cfg, rng, step, hook, [&] { best = model; }, [&] { model = std::move(best); });
}

}  // namespace chorus::router
