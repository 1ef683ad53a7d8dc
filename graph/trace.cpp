#include "graph/trace.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "chorus/error.h"
#include "models/json_text.h"

namespace chorus::graph {

nlohmann::json chrome_trace(const std::vector<TraceEvent>& events) {
  using nlohmann::json;
  json out = json::array();
  std::map<std::string, int> lanes;  // lane name → tid, in order of first use
  for (const TraceEvent& e : events) {
    const auto [it, added] = lanes.emplace(e.lane, static_cast<int>(lanes.size()) + 1);
    if (added)
      out.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", it->second}, {"args", {{"name", e.lane}}}});
    // Chrome trace times are in microseconds.
    out.push_back({{"name", e.name},
                   {"ph", "X"},
                   {"ts", e.start_s * 1e6},
                   {"dur", e.duration_s * 1e6},
                   {"pid", 1},
                   {"tid", it->second},
                   {"args", e.args}});
  }
  return {{"traceEvents", out}, {"displayTimeUnit", "ms"}};
}

void write_chrome_trace(const std::vector<TraceEvent>& events, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw Error(ErrorCode::kIo, fmt::format("{}: cannot write the trace", path));
  out << models::json_text(chrome_trace(events), 1) << "\n";
  if (!out) throw Error(ErrorCode::kIo, fmt::format("{}: writing the trace failed", path));
}

}  // namespace chorus::graph
