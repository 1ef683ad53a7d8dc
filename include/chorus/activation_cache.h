// chorus/activation_cache.h — TransformerLens's run_with_cache for chorus: an
// observer that keeps a copy of every activation it is handed, by full name.
// Standard library only (public C++ API).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chorus/observer.h"

namespace chorus {

struct ActivationCache {
  struct Entry {
    int64_t request;
    int32_t layer;
    int32_t position;  // of the first row
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  // By full name ("blk.3.attn.probs"); per name in the order seen (a prefill chunk, then each decode step).
  std::map<std::string, std::vector<Entry>> entries;

  // An observer of `select` that appends here; the cache must outlive the requests it is attached to.
  std::shared_ptr<Observer> observer(ObserverSelection select) {
    auto o = std::make_shared<Observer>();
    o->select = std::move(select);
    o->on_activation = [this](const ActivationView& v) {
      int64_t n = 1;
      for (int64_t d : v.shape) n *= d;
      entries[std::string(v.name)].push_back(
          {v.request, v.layer, v.position, {v.shape.begin(), v.shape.end()}, {v.data, v.data + n}});
      return true;
    };
    return o;
  }
};

}  // namespace chorus
