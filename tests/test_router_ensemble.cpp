// Router ensembles: the label-probability helpers (softmax averaging, sums of
// fine labels into categories, in-domain energy), a hand-made two-member
// ensemble's prediction, and a trained ensemble's file round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "router/label_probs.h"
#include "router/router_file.h"
#include "router/router_model.h"
#include "router/trainer.h"
#include "tests/test_paths.h"

using namespace chorus::router;

namespace {

std::vector<double> softmax(const std::vector<double>& z) {
  double s = 0;
  for (double v : z) s += std::exp(v);
  std::vector<double> p;
  for (double v : z) p.push_back(std::exp(v) / s);
  return p;
}

// Labels a1, a2 (category A), b1 (category B) and the out-of-domain class;
// two linear members whose logits are their biases alone.
RouterModel two_member_model() {
  RouterModel m;
  m.features = Featurizer(FeatureConfig{.dim = 64});
  m.kind = ModelKind::kLinear;
  m.labels = {"a1", "a2", "b1", "oos"};
  m.categories = {"A", "B"};
  m.label_category = {0, 0, 1, -1};
  for (const auto& bias : {std::vector<float>{2, 0, 0, 0}, std::vector<float>{0, 0, 3, 1}}) {
    auto& lin = m.linears.emplace_back();
    lin.init(64, 4);
    std::fill(lin.w.begin(), lin.w.end(), 0.0f);
    lin.b = bias;
  }
  return m;
}

// Two categories with distinct words, two fine labels each, and out-of-domain queries.
Dataset tiny_dataset() {
  const std::vector<std::vector<std::string>> fine = {
      {"rain", "snow", "forecast"}, {"temperature", "wind", "sunny"},
      {"balance", "deposit", "account"}, {"transfer", "loan", "money"}};
  const std::vector<std::string> frames = {"what about {}", "show me {} now", "{} please", "tell me the {}"};
  Dataset d;
  for (const std::string split : {"train", "val"})
    for (size_t f = 0; f < fine.size(); ++f)
      for (size_t i = 0; i < 12; ++i) {
        std::string t = frames[i % frames.size()];
        t.replace(t.find("{}"), 2, fine[f][i % 3]);
        d.splits[split].push_back({t, f < 2 ? "weather" : "banking", "label" + std::to_string(f)});
      }
  for (const std::string split : {"train", "val"})
    for (const std::string t : {"play some jazz", "who won the game", "capital of peru", "book a flight"})
      d.splits[split].push_back({t, "oos", "oos"});
  return d;
}

}  // namespace

TEST(RouterLabelProbs, SoftmaxAveragesAndSumsIntoCategories) {
  const std::vector<float> z1 = {2, 0, 0, 0}, z2 = {0, 0, 3, 1};
  std::vector<float> acc(4, 0.0f);
  add_softmax(z1.data(), 4, 0.5f, acc.data());
  add_softmax(z2.data(), 4, 0.5f, acc.data());
  const auto p1 = softmax({2, 0, 0, 0}), p2 = softmax({0, 0, 3, 1});
  double total = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(acc[i], 0.5 * (p1[i] + p2[i]), 1e-6);
    total += acc[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  const std::vector<int> label_category = {0, 0, 1, -1};
  std::vector<float> cat(2, -1.0f);
  const float ood = sum_per_category(acc.data(), label_category, 2, cat.data());
  EXPECT_NEAR(cat[0], acc[0] + acc[1], 1e-7);
  EXPECT_NEAR(cat[1], acc[2], 1e-7);
  EXPECT_NEAR(ood, acc[3], 1e-7);
  // Energy: logsumexp over in-domain labels only; the OOD logit does not count.
  EXPECT_NEAR(in_domain_logsumexp(z2.data(), label_category), std::log(std::exp(0.0) + std::exp(0.0) + std::exp(3.0)), 1e-5);
  EXPECT_EQ(in_domain_logsumexp(z2.data(), {-1, -1, -1, -1}), -INFINITY);
}

TEST(RouterEnsemble, PredictionAveragesTheMembers) {
  const RouterModel m = two_member_model();
  m.validate();
  const auto p1 = softmax({2, 0, 0, 0}), p2 = softmax({0, 0, 3, 1});
  const double a = 0.5 * (p1[0] + p1[1] + p2[0] + p2[1]), b = 0.5 * (p1[2] + p2[2]), ood = 0.5 * (p1[3] + p2[3]);
  ASSERT_GT(b, a);  // member 1 alone picks A, member 2 alone picks B; together B wins
  const SparseVec x;
  const Prediction p = m.predict_features(x, GuardScore::kMargin);
  EXPECT_EQ(p.category, 1);
  EXPECT_NEAR(p.probability, b, 1e-6);
  EXPECT_NEAR(p.ood_probability, ood, 1e-6);
  EXPECT_NEAR(p.score, b - ood, 1e-6);
  // Energy is the members' mean in-domain logsumexp.
  const double e = 0.5 * (std::log(std::exp(2.0) + 2.0) + std::log(2.0 + std::exp(3.0)));
  EXPECT_NEAR(m.predict_features(x, GuardScore::kEnergy).score, e, 1e-5);
  // A member of the other kind, or one with the wrong shape, is a format error.
  RouterModel mixed = m;
  mixed.mlps.emplace_back().init(64, 4, 4, 1);
  EXPECT_THROW(mixed.validate(), chorus::Error);
  RouterModel bad = m;
  bad.linears[1].init(64, 3);
  EXPECT_THROW(bad.validate(), chorus::Error);
}

TEST(RouterEnsemble, TrainedMembersDifferAndRoundTrip) {
  RouterTrainOptions opt;
  opt.features.dim = 1u << 10;
  opt.train.hidden = 16;
  opt.train.max_epochs = 8;
  opt.train.lr = 1e-2f;
  opt.members = 3;
  const RouterModel m = train_router(tiny_dataset(), opt);
  ASSERT_EQ(m.n_members(), 3u);
  EXPECT_NE(m.mlps[0].w1, m.mlps[1].w1);  // seeds seed, seed+1, seed+2
  EXPECT_EQ(m.info.at("members"), 3);
  // The ensemble's out-of-domain probability is the mean of its members'.
  const SparseVec x = m.features.transform("show me the rain forecast");
  double mean = 0;
  for (size_t k = 0; k < 3; ++k) {
    RouterModel one = m;
    one.mlps = {m.mlps[k]};
    mean += one.predict_features(x, GuardScore::kMaxProb).ood_probability / 3.0;
  }
  const Prediction p = m.predict_features(x, GuardScore::kMaxProb);
  EXPECT_EQ(m.categories[p.category], "weather");
  EXPECT_NEAR(p.ood_probability, mean, 1e-6);
  // File round trip keeps every member; a member count the tensors do not back is an error.
  const std::string path = chorus::test::temp_dir("router_ensemble") + "/ens.router";
  save_router(m, path);
  const RouterModel r = load_router(path);
  ASSERT_EQ(r.n_members(), 3u);
  EXPECT_EQ(serialize_router(r), serialize_router(m));
  EXPECT_EQ(r.predict("show me the rain forecast").score, m.predict("show me the rain forecast").score);
  RouterModel two = m;
  two.mlps.pop_back();
  auto bytes = serialize_router(two);
  uint64_t meta_len = 0;
  for (int i = 0; i < 8; ++i) meta_len |= static_cast<uint64_t>(bytes[16 + i]) << (8 * i);
  std::string meta(bytes.begin() + kRouterHeaderSize, bytes.begin() + kRouterHeaderSize + meta_len);
  const auto pos = meta.find("\"members\":2");
  ASSERT_NE(pos, std::string::npos);
  meta[pos + 10] = '3';  // same length: claims a third member
  std::copy(meta.begin(), meta.end(), bytes.begin() + kRouterHeaderSize);
  try {
    parse_router(bytes.data(), bytes.size(), "e.router", false);
    ADD_FAILURE() << "a missing member was accepted";
  } catch (const chorus::Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 members"), std::string::npos) << e.what();
  }
  opt.members = 0;
  EXPECT_THROW(train_router(tiny_dataset(), opt), chorus::Error);
}
