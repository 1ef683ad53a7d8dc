#include "router/train_loop.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace chorus::router {

double run_epochs(size_t n, const TrainConfig& cfg, std::mt19937_64& rng,
                  const std::function<double(const std::vector<size_t>&)>& batch_step, const EpochHook& hook,
                  const std::function<void()>& snapshot, const std::function<void()>& restore) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  double best = -std::numeric_limits<double>::infinity();
  int since_best = 0;
  const size_t B = static_cast<size_t>(std::max(1, cfg.batch));
  for (int epoch = 1; epoch <= cfg.max_epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss = 0;
    std::vector<size_t> batch;
    const size_t nb = (n + B - 1) / B;
    for (size_t b = 0; b < nb; ++b) {
      batch.assign(order.begin() + b * B, order.begin() + std::min(n, (b + 1) * B));
      loss += batch_step(batch);
      if (cfg.progress && (b % 20 == 0 || b + 1 == nb)) {
        const int width = 30;
        const int filled = static_cast<int>(width * (b + 1) / nb);
        std::fprintf(stderr, "\repoch %2d [%.*s%*s] %3zu%%", epoch, filled, "##############################",
                     width - filled, "", 100 * (b + 1) / nb);
        std::fflush(stderr);
      }
    }
    if (cfg.progress) std::fprintf(stderr, "\r%60s\r", "");
    const double score = hook ? hook(epoch, n ? loss / n : 0.0) : -loss;
    if (score > best) {
      best = score;
      since_best = 0;
      snapshot();
    } else if (++since_best >= cfg.patience) {
      break;
    }
  }
  restore();
  return best;
}

}  // namespace chorus::router
