// A Chrome/Perfetto trace of one composition run: complete ("X") events on
// named lanes (router, waves, one lane per expert, the weight store), written
// as {"traceEvents": [...]} for chrome://tracing or ui.perfetto.dev.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace chorus::graph {

struct TraceEvent {
  std::string name;
  std::string lane;     // becomes the thread (tid) the event is drawn on
  double start_s = 0;   // since the start of the run
  double duration_s = 0;
  nlohmann::json args = nlohmann::json::object();
};

nlohmann::json chrome_trace(const std::vector<TraceEvent>& events);
void write_chrome_trace(const std::vector<TraceEvent>& events, const std::string& path);

}  // namespace chorus::graph
