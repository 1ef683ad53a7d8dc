#include "tests/stories_reference.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/test_paths.h"

namespace chorus::test {

StoriesReference load_stories_reference() {
  std::ifstream in(fixture_dir() + "/models/stories260K/expected_greedy_ids_and_logits.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  return {j["ids"].get<std::vector<int32_t>>(), j["logits_first4"].get<std::vector<std::vector<float>>>()};
}

runtime::LoadedModel& stories_model() {
  static runtime::LoadedModel m = runtime::load_model(fixture_dir() + "/models/stories260K/stories260K.bin");
  return m;
}

std::vector<double> softmax_of(const std::vector<float>& logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - max);
  for (double& x : p) x /= sum;
  return p;
}

}  // namespace chorus::test
