// stories260K for tests: the model, and the published reference
// (fixtures/models/stories260K/expected_greedy_ids_and_logits.json): greedy ids
// from BOS and the logits after feeding each of the first four.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/loaded_model.h"

namespace chorus::test {

struct StoriesReference {
  std::vector<int32_t> ids;                      // ids[0] is BOS
  std::vector<std::vector<float>> logits_first4;  // [p]: after feeding ids[p] at position p
};

StoriesReference load_stories_reference();
// fixtures/models/stories260K/stories260K.bin, loaded once per test program.
runtime::LoadedModel& stories_model();
// softmax(logits) in double.
std::vector<double> softmax_of(const std::vector<float>& logits);

}  // namespace chorus::test
