// Router: Unicode features, model file round trip and corruption, training on
// a CLINC150 subset, the out-of-domain guard, and category → expert mapping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "chorus/router.h"
#include "router/datasets.h"
#include "router/evaluate.h"
#include "router/guard.h"
#include "router/router_file.h"
#include "router/text_features.h"
#include "router/trainer.h"
#include "router/unicode.h"
#include "tests/test_paths.h"

using namespace chorus::router;

namespace {

double cosine(const SparseVec& a, const SparseVec& b) {
  double dot = 0, na = 0, nb = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a.index[i] == b.index[j]) dot += a.value[i++] * b.value[j++];
    else if (a.index[i] < b.index[j]) ++i;
    else ++j;
  }
  for (float v : a.value) na += v * v;
  for (float v : b.value) nb += v * v;
  return (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : 0.0;
}

// A small synthetic routing task: three categories with distinct vocabularies.
Dataset toy_dataset() {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cats = {
      {"weather", {"weather", "rain", "forecast", "sunny", "temperature", "snow", "wind"}},
      {"banking", {"balance", "account", "transfer", "money", "bank", "deposit", "loan"}},
      {"cooking", {"recipe", "bake", "oven", "ingredients", "cook", "pasta", "soup"}}};
  const std::vector<std::string> frames = {"what is the {} today", "tell me about {} please", "i need {} now",
                                           "how do i check {}", "{} {}", "show {} for tomorrow"};
  std::mt19937 rng(3);
  Dataset d;
  for (int split = 0; split < 2; ++split) {
    const std::string name = split == 0 ? "train" : "val";
    for (const auto& [cat, words] : cats)
      for (int i = 0; i < (split == 0 ? 60 : 20); ++i) {
        std::string f = frames[rng() % frames.size()];
        std::string t;
        for (size_t k = 0; k < f.size(); ++k) {
          if (f.compare(k, 2, "{}") == 0) t += words[rng() % words.size()], ++k;
          else t.push_back(f[k]);
        }
        d.splits[name].push_back({t, cat, cat});
      }
    const std::vector<std::string> ood = {"who won the football game", "play some jazz music",
                                          "what is the capital of peru", "book a flight to rome",
                                          "how tall is mount everest", "translate hello to german"};
    for (int i = 0; i < (split == 0 ? 12 : 6); ++i) d.splits[name].push_back({ood[i % ood.size()], "oos", "oos"});
  }
  return d;
}

RouterModel toy_router(ModelKind kind = ModelKind::kLinear) {
  RouterTrainOptions opt;
  opt.kind = kind;
  opt.features.dim = 1u << 12;
  opt.train.hidden = 32;
  opt.train.max_epochs = 15;
  opt.train.lr = 1e-2f;
  return train_router(toy_dataset(), opt);
}

std::string clinc_path() { return chorus::test::fixture_dir() + "/data/clinc150/data_dev.json"; }

}  // namespace

// ---------------------------------------------------------------- features

TEST(RouterUnicode, LowerCasesBeyondAscii) {
  EXPECT_EQ(lower_utf8("Crème BRÛLÉE"), "crème brûlée");
  EXPECT_EQ(lower_utf8("ΑΘΗΝΑ"), "αθηνα");
  EXPECT_EQ(lower_utf8("ПРИВЕТ Мир"), "привет мир");
  EXPECT_EQ(lower_utf8("ŁÓDŹ"), "łódź");
  EXPECT_EQ(lower_utf8("東京タワー"), "東京タワー");  // no case: unchanged
}

TEST(RouterUnicode, InvalidUtf8BecomesReplacementNotCrash) {
  const std::string bad = std::string("ab\xff\xfe") + "\xe2\x82" + "cd\xc0\xaf";
  const auto cps = utf8_decode(bad);
  EXPECT_EQ(std::count(cps.begin(), cps.end(), U'\uFFFD'), 4);  // ff, fe, truncated e2 82, overlong c0 af
  EXPECT_EQ(cps.front(), U'a');
  const std::string out = utf8_encode(cps);
  EXPECT_EQ(utf8_decode(out), cps);  // re-encoding is valid UTF-8
}

TEST(RouterFeatures, TokenizesAccentedAndNonLatinWords) {
  EXPECT_EQ(tokenize("Où est l'hôtel, s'il vous plaît?"),
            (std::vector<std::string>{"où", "est", "l", "hôtel", "s", "il", "vous", "plaît"}));
  EXPECT_EQ(tokenize("Привет, МИР!"), (std::vector<std::string>{"привет", "мир"}));
  EXPECT_EQ(tokenize("naïve café 42"), (std::vector<std::string>{"naïve", "café", "42"}));
  const auto cjk = tokenize("我想订一张去北京的机票");
  ASSERT_EQ(cjk.size(), 1u);  // no spaces in Chinese: one run, split further by char n-grams
  EXPECT_EQ(utf8_decode(cjk[0]).size(), 11u);
  EXPECT_TRUE(tokenize("  ,.;!? ").empty());
}

TEST(RouterFeatures, NonLatinTextDoesNotCollapse) {
  Featurizer f(FeatureConfig{});
  const std::vector<std::string> texts = {"我想订一张去北京的机票", "今天天气怎么样",  "Какая сегодня погода",
                                          "Переведи деньги на счёт", "ما هو رصيد حسابي",    "crème brûlée recette",
                                          "creme brulee recette",   "東京の天気を教えて"};
  std::vector<SparseVec> v;
  for (const auto& t : texts) {
    v.push_back(f.transform(t));
    EXPECT_GT(v.back().size(), 5u) << t;
    double n = 0;
    for (float x : v.back().value) {
      ASSERT_TRUE(std::isfinite(x));
      n += x * x;
    }
    EXPECT_NEAR(n, 1.0, 1e-4) << t;
  }
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = i + 1; j < v.size(); ++j) {
      const double c = cosine(v[i], v[j]);
      if (i == 5 && j == 6) {
        EXPECT_GT(c, 0.2);  // accent-folded spelling still shares n-grams
        EXPECT_LT(c, 0.99);  // but is not the same text
      } else {
        EXPECT_LT(c, 0.5) << texts[i] << " vs " << texts[j];
      }
    }
  EXPECT_EQ(f.transform("").size(), 0u);
  EXPECT_EQ(f.transform("!!! ???").size(), 0u);
}

TEST(RouterFeatures, HashingIsDeterministic) {
  FeatureConfig c;
  c.dim = 1u << 14;
  Featurizer a(c), b(c);
  const std::string t = "Wie ist das Wetter in München? 天气";
  const auto x = a.transform(t), y = b.transform(t);
  EXPECT_EQ(x.index, y.index);
  EXPECT_EQ(x.value, y.value);
  for (auto i : x.index) EXPECT_LT(i, c.dim);
  EXPECT_TRUE(std::is_sorted(x.index.begin(), x.index.end()));
  // The hash is part of the file format: pin one bucket so a change is noticed.
  FeatureConfig w;
  w.dim = 1u << 20;
  w.char_max = 0;
  w.word_ngrams = 1;
  const auto one = Featurizer(w).counts("hello");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].index, 743525u);
  // A different seed moves the buckets.
  FeatureConfig s = c;
  s.seed = 99;
  EXPECT_NE(Featurizer(s).transform(t).index, x.index);
}

TEST(RouterFeatures, IdfDownweightsCommonWords) {
  FeatureConfig c;
  c.char_max = 0;
  c.word_ngrams = 1;
  Featurizer f(c);
  f.fit_idf({"the cat", "the dog", "the bird", "a fish"});
  const auto v = f.transform("the cat");
  ASSERT_EQ(v.size(), 2u);
  const uint32_t the = f.counts("the")[0].index;
  const float w_the = v.index[0] == the ? v.value[0] : v.value[1];
  const float w_cat = v.index[0] == the ? v.value[1] : v.value[0];
  EXPECT_LT(w_the, w_cat);
}

// ---------------------------------------------------------------- model file

TEST(RouterFile, RoundTripKeepsPredictions) {
  for (auto kind : {ModelKind::kLinear, ModelKind::kWideMLP}) {
    const RouterModel m = toy_router(kind);
    const std::string path = chorus::test::temp_dir("router_file") + "/toy.router";
    save_router(m, path);
    const RouterModel r = load_router(path);
    EXPECT_EQ(r.labels, m.labels);
    EXPECT_EQ(r.categories, m.categories);
    EXPECT_EQ(r.guard.threshold, m.guard.threshold);
    for (const std::string t : {"what is the weather today", "transfer money", "bake a cake", "zzz", "天气"}) {
      const auto a = m.predict(t), b = r.predict(t);
      EXPECT_EQ(a.category, b.category);
      EXPECT_EQ(a.score, b.score);
      EXPECT_EQ(a.out_of_domain, b.out_of_domain);
    }
    EXPECT_EQ(serialize_router(r), serialize_router(m));
    chorus::Router pub = chorus::Router::load(path);
    EXPECT_EQ(pub.classify("what is the weather forecast").category, "weather");
  }
}

TEST(RouterFile, CorruptionIsAnError) {
  const auto good = serialize_router(toy_router());
  auto expect_error = [](std::vector<uint8_t> bytes, chorus::ErrorCode code, const std::string& needle) {
    try {
      parse_router(bytes.data(), bytes.size(), "t.router");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const chorus::Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  EXPECT_NO_THROW(parse_router(good.data(), good.size(), "t.router"));
  auto flipped = good;
  flipped[flipped.size() - 7] ^= 0x10;
  expect_error(flipped, chorus::ErrorCode::kFormat, "checksum");
  expect_error(std::vector<uint8_t>(good.begin(), good.end() - 4), chorus::ErrorCode::kFormat, "truncated");
  expect_error(std::vector<uint8_t>(good.begin(), good.begin() + 20), chorus::ErrorCode::kFormat, "header");
  auto magic = good;
  magic[0] = 'X';
  expect_error(magic, chorus::ErrorCode::kFormat, "magic");
  auto version = good;
  version[8] = 1;
  expect_error(version, chorus::ErrorCode::kUnsupported, "version 1");
  // A well-checksummed file whose metadata disagrees with its tensors.
  const uint64_t meta_len = [&] {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(good[16 + i]) << (8 * i);
    return v;
  }();
  auto meta = nlohmann::json::parse(good.begin() + kRouterHeaderSize, good.begin() + kRouterHeaderSize + meta_len);
  auto rebuild = [&](const nlohmann::json& mj) {
    const std::string ms = mj.dump();
    std::vector<uint8_t> out(good.begin(), good.begin() + kRouterHeaderSize);
    out.insert(out.end(), ms.begin(), ms.end());
    out.insert(out.end(), good.begin() + kRouterHeaderSize + meta_len, good.end());
    for (int i = 0; i < 8; ++i) out[16 + i] = static_cast<uint8_t>(static_cast<uint64_t>(ms.size()) >> (8 * i));
    const uint64_t c = router_checksum(out.data() + kRouterHeaderSize, out.size() - kRouterHeaderSize);
    for (int i = 0; i < 8; ++i) out[32 + i] = static_cast<uint8_t>(c >> (8 * i));
    return out;
  };
  EXPECT_NO_THROW({ auto ok = rebuild(meta); parse_router(ok.data(), ok.size(), "t.router"); });
  auto m1 = meta;
  m1["labels"].push_back("extra");
  expect_error(rebuild(m1), chorus::ErrorCode::kFormat, "labels");
  auto m2 = meta;
  m2["tensors"]["m0.w"]["offset"] = 1u << 30;
  expect_error(rebuild(m2), chorus::ErrorCode::kFormat, "outside the payload");
  auto m3 = meta;
  m3["features"]["dim"] = 1u << 13;
  expect_error(rebuild(m3), chorus::ErrorCode::kFormat, "dim");
  auto m4 = meta;
  m4["label_category"][0] = 17;
  expect_error(rebuild(m4), chorus::ErrorCode::kFormat, "category");
  auto m5 = meta;
  m5.erase("guard");
  expect_error(rebuild(m5), chorus::ErrorCode::kFormat, "guard");
  EXPECT_THROW(load_router(chorus::test::temp_dir("router_missing") + "/nope.router"), chorus::Error);
}

// ---------------------------------------------------------------- training

TEST(RouterTrain, ClincSubsetReachesAccuracyBar) {
  // 40 training queries per intent, 10 domains as categories; validation on
  // every 4th val query plus all oos_val. A real (not toy) bar.
  Dataset full = load_dataset(clinc_path(), "clinc", LabelMode::kDomain);
  Dataset d;
  std::map<std::string, int> per_intent;
  for (const auto& e : full.split("train"))
    if (e.ood() || per_intent[e.fine]++ < 40) d.splits["train"].push_back(e);
  const auto& val = full.split("val");
  for (size_t i = 0; i < val.size(); ++i)
    if (val[i].ood() || i % 4 == 0) d.splits["val"].push_back(val[i]);
  ASSERT_EQ(d.split("train").size(), 150u * 40u + 100u);
  RouterTrainOptions opt;
  opt.features.dim = 1u << 15;
  opt.train.hidden = 64;
  opt.train.max_epochs = 6;
  opt.train.patience = 2;
  int epochs = 0;
  opt.log = [&](const std::string&) { ++epochs; };
  const RouterModel m = train_router(d, opt);
  EXPECT_GE(epochs, 2);
  EXPECT_EQ(m.categories.size(), 10u);
  EXPECT_EQ(m.labels.size(), 151u);  // 150 intents + the out-of-domain class
  const auto r = evaluate_router(m, d.split("val"), false);
  const auto no_guard = r.curve.front();
  EXPECT_GE(no_guard.in_domain_accuracy, 0.90) << "accuracy without rejection";
  EXPECT_GE(r.at_threshold.gqr, 0.80);
  EXPECT_GE(r.at_threshold.ood_recall, 0.6);
  EXPECT_EQ(r.n_ood, 100u);
  const auto p = m.predict("what's my checking account balance");
  EXPECT_EQ(m.categories[p.category], "banking");
}

TEST(RouterTrain, LinearBaselineLearnsToyTask) {
  const RouterModel m = toy_router(ModelKind::kLinear);
  const auto r = evaluate_router(m, toy_dataset().split("val"), false);
  EXPECT_GE(r.curve.front().in_domain_accuracy, 0.95);
}

// ---------------------------------------------------------------- guard

TEST(RouterGuard, CalibrationFindsTheSeparatingThreshold) {
  std::vector<Scored> s;
  for (int i = 0; i < 90; ++i) s.push_back({i % 3, 0.6f + 0.004f * i, i % 3});  // in-domain, correct, high score
  for (int i = 0; i < 10; ++i) s.push_back({1, 0.7f, 2});                        // in-domain, wrong
  for (int i = 0; i < 20; ++i) s.push_back({0, 0.1f + 0.02f * i, -1});           // out-of-domain, low score
  s.push_back({-1, 0.9f, -1});                                                    // explicit OOD class
  const CurvePoint c = calibrate(s);
  EXPECT_GT(c.threshold, 0.1f + 0.02f * 19);
  EXPECT_LE(c.threshold, 0.6f);
  EXPECT_DOUBLE_EQ(c.ood_recall, 1.0);
  EXPECT_DOUBLE_EQ(c.in_domain_accuracy, 0.9);
  EXPECT_NEAR(c.gqr, 2 * 0.9 / 1.9, 1e-9);
  const auto curve = sweep(s);
  for (size_t i = 1; i < curve.size(); ++i) {
    EXPECT_GE(curve[i].threshold, curve[i - 1].threshold);
    EXPECT_GE(curve[i].ood_recall, curve[i - 1].ood_recall);
    EXPECT_LE(curve[i].in_domain_accuracy, curve[i - 1].in_domain_accuracy);
  }
  EXPECT_DOUBLE_EQ(curve.front().ood_recall, 1.0 / 21);  // the explicit OOD prediction is always rejected
  EXPECT_DOUBLE_EQ(curve.back().in_domain_accuracy, 0.0);
  // Constrained calibration: the most accurate point with at least half the OOD queries rejected.
  const CurvePoint half = calibrate(s, 0.5);
  EXPECT_GE(half.ood_recall, 0.5);
  EXPECT_LT(half.threshold, c.threshold);
  EXPECT_DOUBLE_EQ(half.in_domain_accuracy, 0.9);
  for (const auto& p : curve) {
    if (p.ood_recall >= 0.5) {
      EXPECT_LE(p.in_domain_accuracy, half.in_domain_accuracy);
    }
  }
  EXPECT_DOUBLE_EQ(calibrate(s, 1.0).ood_recall, 1.0);
  const auto m = measure(s, c.threshold);
  EXPECT_DOUBLE_EQ(m.gqr, c.gqr);
  EXPECT_EQ(thin_curve(curve, 5).size(), 5u);
}

TEST(RouterGuard, ThresholdDecidesOutOfDomain) {
  RouterModel m = toy_router();
  EXPECT_FALSE(m.predict("what is the weather forecast today").out_of_domain);
  m.guard.score = GuardScore::kMaxProb;
  m.guard.threshold = 1.01f;  // nothing can be that confident
  EXPECT_TRUE(m.predict("what is the weather forecast today").out_of_domain);
  m.guard.threshold = 0.0f;
  const auto p = m.predict("what is the weather forecast today");
  EXPECT_FALSE(p.out_of_domain);
  EXPECT_GT(p.probability, 0.5f);
  // Trained OOD examples land in the explicit out-of-domain class.
  EXPECT_TRUE(toy_router().predict("who won the football game").out_of_domain);
  // The margin score lets the threshold alone decide, even over the OOD class.
  RouterModel mm = toy_router();
  mm.guard.score = GuardScore::kMargin;
  mm.guard.threshold = -2.0f;  // margin is in [-1, 1]: accept everything
  EXPECT_FALSE(mm.predict("who won the football game").out_of_domain);
  mm.guard.threshold = 0.0f;   // the OOD class more likely than any category → rejected
  const auto g = mm.predict("who won the football game");
  EXPECT_TRUE(g.out_of_domain);
  EXPECT_NEAR(g.score, g.probability - g.ood_probability, 1e-6);
  EXPECT_FALSE(mm.predict("what is the weather forecast today").out_of_domain);
  // Empty and garbage input are handled, not crashed on.
  for (const std::string t : {"", "\xff\xfe\xfd", "🙂🙂🙂"}) {
    const auto q = m.predict(t);
    EXPECT_TRUE(std::isfinite(q.score));
  }
}

// ---------------------------------------------------------------- experts

TEST(RouterExperts, MapsCategoriesWithFallbackOrRefusal) {
  const auto fb = chorus::ExpertMap::parse(R"({"experts": {"weather": "meteo-1b", "banking": "fin-3b"},
                                               "fallback": "generalist"})");
  EXPECT_FALSE(fb.refuse);
  const auto rf = chorus::ExpertMap::parse(R"({"experts": {"weather": "meteo-1b"}, "fallback": "generalist",
                                               "on_out_of_domain": "refuse"})");
  EXPECT_TRUE(rf.refuse);
  chorus::RouteDecision in;
  in.category = "weather";
  auto d = chorus::apply_experts(in, fb);
  EXPECT_EQ(d.expert, "meteo-1b");
  EXPECT_FALSE(d.fallback || d.refused);
  chorus::RouteDecision ood = in;
  ood.out_of_domain = true;
  d = chorus::apply_experts(ood, fb);
  EXPECT_EQ(d.expert, "generalist");
  EXPECT_TRUE(d.fallback);
  d = chorus::apply_experts(ood, rf);
  EXPECT_TRUE(d.refused);
  EXPECT_TRUE(d.expert.empty());
  chorus::RouteDecision unmapped;
  unmapped.category = "cooking";
  EXPECT_EQ(chorus::apply_experts(unmapped, fb).expert, "generalist");
  EXPECT_TRUE(chorus::apply_experts(unmapped, rf).refused);
  // With no fallback named the default is to refuse.
  EXPECT_TRUE(chorus::ExpertMap::parse(R"({"experts": {}})").refuse);
  EXPECT_THROW(chorus::ExpertMap::parse(R"({"experts": {}, "on_out_of_domain": "fallback"})"), chorus::Error);
  EXPECT_THROW(chorus::ExpertMap::parse(R"({"experts": {"a": 3}})"), chorus::Error);
  EXPECT_THROW(chorus::ExpertMap::parse("not json"), chorus::Error);
  EXPECT_THROW(chorus::ExpertMap::parse(R"({"experts": {}, "on_out_of_domain": "maybe"})"), chorus::Error);
  // End to end through a trained router.
  const auto model = std::make_shared<const RouterModel>(toy_router());
  chorus::Router r(model);
  EXPECT_EQ(r.route("what is the weather forecast", fb).expert, "meteo-1b");
  EXPECT_EQ(r.route("transfer money to my bank account", fb).expert, "fin-3b");
  const auto o = r.route("who won the football game", rf);
  EXPECT_TRUE(o.out_of_domain);
  EXPECT_TRUE(o.refused);
}

// ---------------------------------------------------------------- datasets

TEST(RouterData, ReadsCsvAndJsonl) {
  const std::string dir = chorus::test::temp_dir("router_data");
  {
    std::ofstream f(dir + "/d.csv");
    f << "text,label,split\n\"hello, \"\"world\"\"\",greet,train\nbye,oos,val\n\"multi\nline\",greet,test\n";
  }
  const auto c = load_dataset(dir + "/d.csv", "csv", LabelMode::kDefault);
  ASSERT_EQ(c.split("train").size(), 1u);
  EXPECT_EQ(c.split("train")[0].text, "hello, \"world\"");
  EXPECT_TRUE(c.split("val")[0].ood());
  EXPECT_EQ(c.split("test")[0].text, "multi\nline");
  {
    std::ofstream f(dir + "/d.jsonl");
    f << R"({"text": "Wie spät ist es?", "label": "time", "split": "train"})" << "\n\n"
      << R"({"text": "x", "label": "ood", "split": "val"})" << "\n";
  }
  const auto j = load_dataset(dir + "/d.jsonl", "jsonl", LabelMode::kDefault);
  EXPECT_EQ(j.split("train")[0].category, "time");
  EXPECT_TRUE(j.split("val")[0].ood());
  {
    std::ofstream f(dir + "/bad.jsonl");
    f << "{\"text\": 1}\n";
  }
  EXPECT_THROW(load_dataset(dir + "/bad.jsonl", "jsonl", LabelMode::kDefault), chorus::Error);
  EXPECT_THROW(load_dataset(dir + "/d.csv", "xml", LabelMode::kDefault), chorus::Error);
  // Extra out-of-domain text: the other file's train split joins training as "oos".
  Dataset d = c;
  add_ood_examples(d, j);
  ASSERT_EQ(d.split("train").size(), 2u);
  EXPECT_EQ(d.split("train")[1].text, "Wie spät ist es?");
  EXPECT_TRUE(d.split("train")[1].ood());
  EXPECT_EQ(d.split("val").size(), 1u);  // only train examples are added
}
