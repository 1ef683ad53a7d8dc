#include "runtime/store_metrics.h"

#include <nlohmann/json.hpp>

namespace chorus::runtime {

double StoreSnapshot::exposed_seconds() const {
  double total = 0.0;
  for (const ExpertState& e : experts) total += e.metrics.exposed_seconds;
  return total;
}

double StoreSnapshot::swap_seconds() const {
  double total = 0.0;
  for (const ExpertState& e : experts) total += e.metrics.swap_seconds;
  return total;
}

nlohmann::json to_json(const MoveRecord& m) {
  return {{"expert", m.expert}, {"from", tier_name(m.from)}, {"to", tier_name(m.to)},
          {"bytes", m.bytes},   {"seconds", m.seconds},      {"gb_s", m.gb_s()}};
}

nlohmann::json to_json(const ExpertMetrics& m) {
  return {{"pins", m.pins},
          {"hits", m.hits},
          {"misses", m.misses},
          {"resident_evictions", m.resident_evictions},
          {"host_evictions", m.host_evictions},
          {"moves", m.moves},
          {"bytes_moved", m.bytes_moved},
          {"move_seconds", m.move_seconds},
          {"move_gb_s", m.move_seconds > 0.0 ? static_cast<double>(m.bytes_moved) / m.move_seconds / 1e9 : 0.0},
          {"swap_seconds", m.swap_seconds},
          {"exposed_seconds", m.exposed_seconds},
          {"hidden_seconds", m.hidden_seconds},
          {"last_error", m.last_error}};
}

nlohmann::json to_json(const StoreSnapshot& s) {
  nlohmann::json experts = nlohmann::json::array();
  for (const ExpertState& e : s.experts)
    experts.push_back({{"name", e.name},
                       {"model", e.model_path},
                       {"tiers", {{"host", e.in_host}, {"resident", e.in_resident}}},
                       {"loading", {{"host", e.loading_host}, {"resident", e.loading_resident}}},
                       {"queued", e.queued},
                       {"pins", e.pins},
                       {"host_bytes", e.host_bytes},
                       {"resident_bytes", e.resident_bytes},
                       {"resident_type", e.resident_type},
                       {"metrics", to_json(e.metrics)}});
  nlohmann::json moves = nlohmann::json::array();
  for (const MoveRecord& m : s.moves) moves.push_back(to_json(m));
  return {{"resident", {{"budget_bytes", s.resident.budget}, {"used_bytes", s.resident.used}}},
          {"host", {{"budget_bytes", s.host.budget}, {"used_bytes", s.host.used}}},
          {"experts", experts},
          {"moves", moves},
          {"exposed_seconds", s.exposed_seconds()},
          {"swap_seconds", s.swap_seconds()}};
}

}  // namespace chorus::runtime
