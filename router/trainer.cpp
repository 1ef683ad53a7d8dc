#include "router/trainer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "chorus/error.h"

namespace chorus::router {

std::vector<Scored> score_examples(const RouterModel& m, const std::vector<Example>& ex, GuardScore score) {
  std::map<std::string, int> cat;
  for (size_t i = 0; i < m.categories.size(); ++i) cat[m.categories[i]] = static_cast<int>(i);
  std::vector<Scored> out;
  out.reserve(ex.size());
  for (const auto& e : ex) {
    const Prediction p = m.predict_features(m.input(e.text), score);
    Scored s;
    s.predicted = (p.forced_ood || p.category < 0) ? -1 : p.category;
    s.score = p.score;
    if (e.ood()) s.gold = -1;
    else {
      auto it = cat.find(e.category);
      s.gold = it == cat.end() ? static_cast<int>(m.categories.size()) : it->second;
    }
    out.push_back(s);
  }
  return out;
}

RouterModel train_router(const Dataset& data, const RouterTrainOptions& opt) {
  const auto& train = data.split("train");
  const auto& val = data.split("val");
  if (train.empty()) throw Error(ErrorCode::kInvalidArgument, "router training data has no 'train' examples");
  RouterModel m;
  m.kind = opt.kind;
  // Labels and categories.
  std::set<std::string> cats;
  std::map<std::string, std::string> fine_cat;
  bool has_ood = false;
  for (const auto& e : train) {
    if (e.ood()) {
      has_ood = true;
      continue;
    }
    cats.insert(e.category);
    const std::string lab = opt.fine_labels ? e.fine : e.category;
    auto [it, fresh] = fine_cat.emplace(lab, e.category);
    if (!fresh && it->second != e.category)
      throw Error(ErrorCode::kInvalidArgument,
                  fmt::format("fine label '{}' belongs to two categories ('{}', '{}')", lab, it->second, e.category));
  }
  if (cats.empty()) throw Error(ErrorCode::kInvalidArgument, "router training data has no in-domain examples");
  m.categories.assign(cats.begin(), cats.end());
  std::map<std::string, int> cat_index, label_index;
  for (size_t i = 0; i < m.categories.size(); ++i) cat_index[m.categories[i]] = static_cast<int>(i);
  for (auto& [lab, c] : fine_cat) {
    label_index[lab] = static_cast<int>(m.labels.size());
    m.labels.push_back(lab);
    m.label_category.push_back(cat_index[c]);
  }
  const bool ood_class = opt.ood_class && has_ood;
  int ood_label = -1;
  if (ood_class) {
    ood_label = static_cast<int>(m.labels.size());
    m.labels.push_back(kOodLabel);
    m.label_category.push_back(-1);
  }
  // Features.
  m.features = Featurizer(opt.features);
  std::vector<std::string> texts;
  texts.reserve(train.size());
  for (const auto& e : train) texts.push_back(e.text);
  m.features.fit_idf(texts);
  m.embeddings = opt.embeddings;
  if (m.embeddings.enabled()) m.embeddings.fit(texts);
  TrainSet ts;
  for (const auto& e : train) {
    int y;
    if (e.ood()) {
      if (!ood_class) continue;
      y = ood_label;
    } else {
      y = label_index.at(opt.fine_labels ? e.fine : e.category);
    }
    ts.x.push_back(m.input(e.text));
    ts.y.push_back(y);
  }
  ts.class_weight.assign(m.labels.size(), 1.0f);
  if (ood_class) ts.class_weight[ood_label] = opt.ood_weight;
  // Validation vectors, computed once.
  std::vector<SparseVec> vx;
  std::vector<int> vgold;
  for (const auto& e : val) {
    vx.push_back(m.input(e.text));
    vgold.push_back(e.ood() ? -1 : (cat_index.count(e.category) ? cat_index[e.category] : static_cast<int>(m.categories.size())));
  }
  const bool val_has_ood = std::any_of(vgold.begin(), vgold.end(), [](int g) { return g < 0; });
  auto score_val = [&](GuardScore gs) {
    std::vector<Scored> s(vx.size());
    for (size_t i = 0; i < vx.size(); ++i) {
      const Prediction p = m.predict_features(vx[i], gs);
      s[i] = {(p.forced_ood || p.category < 0) ? -1 : p.category, p.score, vgold[i]};
    }
    return s;
  };
  const auto t0 = std::chrono::steady_clock::now();
  EpochHook hook = [&](int epoch, double loss) -> double {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (vx.empty()) {
      if (opt.log) opt.log(fmt::format("epoch {:2d}  loss {:.4f}  ({:.1f} s)", epoch, loss, secs));
      return -loss;
    }
    const auto s = score_val(GuardScore::kMaxProb);
    const CurvePoint none = measure(s, -1e30f);
    const CurvePoint best = calibrate(s);
    if (opt.log)
      opt.log(fmt::format("epoch {:2d}  loss {:.4f}  val_acc {:.4f}{}  ({:.1f} s)", epoch, loss, none.in_domain_accuracy,
                          val_has_ood ? fmt::format("  val_ood_recall {:.4f}  val_gqr {:.4f} @ {:.3f}", best.ood_recall,
                                                    best.gqr, best.threshold)
                                      : "",
                          secs));
    // With out-of-domain validation data, select on the mean of the calibrated GQR
    // score and the accuracy without rejection: GQR alone is noisy (few OOD queries).
    return val_has_ood ? 0.5 * (best.gqr + none.in_domain_accuracy) : none.in_domain_accuracy;
  };
  // The ensemble's members, one after another with seeds seed, seed+1, ...; each
  // member early-stops on the validation score of the ensemble it completes.
  if (opt.members < 1 || opt.members > kMaxMembers)
    throw Error(ErrorCode::kInvalidArgument, fmt::format("router ensemble size {} is outside 1..{}", opt.members, kMaxMembers));
  TrainConfig tc = opt.train;
  m.mlps.reserve(static_cast<size_t>(opt.members));
  m.linears.reserve(static_cast<size_t>(opt.members));
  for (int k = 0; k < opt.members; ++k) {
    tc.seed = opt.train.seed + static_cast<uint64_t>(k);
    if (opt.log && opt.members > 1) opt.log(fmt::format("member {} of {} (seed {})", k + 1, opt.members, tc.seed));
    if (opt.kind == ModelKind::kWideMLP) {
      m.mlps.emplace_back().init(m.in_dim(), static_cast<uint32_t>(tc.hidden),
                                 static_cast<uint32_t>(m.labels.size()), tc.seed);
      train_wide_mlp(m.mlps.back(), ts, tc, hook);
    } else {
      m.linears.emplace_back().init(m.in_dim(), static_cast<uint32_t>(m.labels.size()));
      train_linear(m.linears.back(), ts, tc, hook);
    }
  }
  // Guard calibration on validation.
  std::vector<GuardScore> choices;
  if (opt.guard_score == "auto") {
    choices = {GuardScore::kMaxProb, GuardScore::kEnergy};
    if (ood_class) choices.push_back(GuardScore::kMargin);
  }
  else choices = {parse_guard_score(opt.guard_score)};
  CurvePoint chosen;
  chosen.gqr = -1;
  m.guard = {choices.front(), 0.0f};
  nlohmann::json cal = nlohmann::json::object();
  for (auto gs : choices) {
    if (vx.empty()) break;
    const auto s = score_val(gs);
    const CurvePoint p = calibrate(s, opt.min_ood_recall);
    cal[guard_score_name(gs)] = point_to_json(p);
    const bool better = opt.min_ood_recall > 0
                            ? (p.ood_recall >= opt.min_ood_recall) > (chosen.ood_recall >= opt.min_ood_recall) ||
                                  ((p.ood_recall >= opt.min_ood_recall) == (chosen.ood_recall >= opt.min_ood_recall) &&
                                   p.in_domain_accuracy > chosen.in_domain_accuracy + 1e-9)
                            : p.gqr > chosen.gqr + 1e-9;
    if (chosen.gqr < 0 || better) chosen = p, m.guard = {gs, p.threshold};
  }
  if (vx.empty() || !val_has_ood) {
    // No out-of-domain validation data: accept everything the classifier accepts.
    m.guard.threshold = m.guard.score == GuardScore::kMaxProb ? 0.0f : -1e30f;
  }
  m.info = {{"model", model_kind_name(opt.kind)},
            {"seed", opt.train.seed},
            {"members", opt.members},
            {"hidden", opt.kind == ModelKind::kWideMLP ? tc.hidden : 0},
            {"ood_class", ood_class},
            {"embeddings", m.embeddings.enabled() ? nlohmann::json(pooling_name(m.embeddings.pooling)) : nlohmann::json(nullptr)},
            {"fine_labels", opt.fine_labels},
            {"calibration", opt.min_ood_recall > 0 ? fmt::format("best accuracy at ood_recall >= {}", opt.min_ood_recall)
                                                   : std::string("best gqr_score")},
            {"n_train", ts.x.size()},
            {"n_val", vx.size()},
            {"val_calibration", cal}};
  return m;
}

}  // namespace chorus::router
