// Trains a RouterModel from a Dataset: learns the IDF on the training texts,
// trains the classifier on the fine labels (aggregated into categories at
// prediction time), with an explicit out-of-domain class when the training
// split has out-of-domain examples, early-stops on the validation split, and
// calibrates the guard's score and threshold on that split.
#pragma once

#include <functional>
#include <string>

#include "router/datasets.h"
#include "router/router_model.h"
#include "router/train_config.h"

namespace chorus::router {

struct RouterTrainOptions {
  ModelKind kind = ModelKind::kWideMLP;
  FeatureConfig features;
  PooledEmbeddings embeddings;  // enabled: pooled token embeddings appended to the features
  TrainConfig train;
  bool ood_class = true;     // train an explicit out-of-domain class from "oos" training examples
  int members = 1;          // ensemble size: members differ by seed, their probabilities are averaged
  bool fine_labels = true;   // train on fine labels (e.g. intents) and sum them into categories
  std::string guard_score = "auto";  // max_prob | energy | auto (best GQR on validation)
  float ood_weight = 1.0f;   // loss weight of the out-of-domain class
  double min_ood_recall = 0;  // > 0: calibrate for the best accuracy at this OOD recall, not the best GQR
  std::function<void(const std::string&)> log;  // per-epoch validation lines
};

RouterModel train_router(const Dataset& data, const RouterTrainOptions& opt);

// Scores a split for the guard: gold = category index, -1 for out-of-domain,
// categories.size() for an in-domain category the router does not know.
std::vector<Scored> score_examples(const RouterModel& m, const std::vector<Example>& ex, GuardScore score);

}  // namespace chorus::router
