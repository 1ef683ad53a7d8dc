// Adam (with decoupled weight decay) over plain float arrays. `update_rows`
// is the lazy variant for an embedding-style matrix: only the rows a batch
// touched are updated, which keeps training of a wide sparse-input layer cheap.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chorus::router {

struct AdamConfig {
  float lr = 2e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled (AdamW)
};

class Adam {
 public:
  explicit Adam(AdamConfig cfg = {}) : cfg_(cfg) {}
  void next_step() {
    ++t_;
    c1_ = 1.0f - std::pow(cfg_.beta1, static_cast<float>(t_));
    c2_ = 1.0f - std::pow(cfg_.beta2, static_cast<float>(t_));
  }
  // w, m, v, g all of length n.
  void update(float* w, float* m, float* v, const float* g, size_t n) const {
    const float b1 = cfg_.beta1, b2 = cfg_.beta2, lr = cfg_.lr, eps = cfg_.eps, wd = cfg_.weight_decay;
    const float ic1 = 1.0f / c1_, ic2 = 1.0f / c2_;
    for (size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lr * ((m[i] * ic1) / (std::sqrt(v[i] * ic2) + eps) + wd * w[i]);
    }
  }
  void set_lr(float lr) { cfg_.lr = lr; }
  const AdamConfig& config() const { return cfg_; }

 private:
  AdamConfig cfg_;
  int64_t t_ = 0;
  float c1_ = 1, c2_ = 1;
};

}  // namespace chorus::router
