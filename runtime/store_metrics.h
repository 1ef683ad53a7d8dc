// What the weight store reports: per move and per expert, and a snapshot of
// the tiers for inspect, tests and benches. All of it serialises to JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/tier_budget.h"

namespace chorus::runtime {

struct MoveRecord {
  std::string expert;
  Tier from;
  Tier to;
  uint64_t bytes = 0;
  double seconds = 0.0;
  std::chrono::steady_clock::time_point started{};  // when the bytes began to move (for traces)

  double gb_s() const { return seconds > 0.0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0; }
};

struct ExpertMetrics {
  uint64_t pins = 0;
  uint64_t hits = 0;    // pins that found the expert resident
  uint64_t misses = 0;  // pins that had to wait for a load
  uint64_t resident_evictions = 0;
  uint64_t host_evictions = 0;
  uint64_t moves = 0;
  uint64_t bytes_moved = 0;
  double move_seconds = 0.0;
  // Of the load time that pins consumed (loads towards resident since the
  // previous pin), what a pin waited for and what finished behind compute.
  double swap_seconds = 0.0;
  double exposed_seconds = 0.0;
  double hidden_seconds = 0.0;
  std::string last_error;  // of the latest failed move, "" if none
};

struct ExpertState {
  std::string name;
  std::string model_path;
  bool in_host = false;
  bool in_resident = false;
  bool loading_host = false;      // a move into the tier is running (its bytes are reserved)
  bool loading_resident = false;
  bool queued = false;            // a move is queued or running
  uint32_t pins = 0;
  uint64_t host_bytes = 0;      // its size in the host tier
  uint64_t resident_bytes = 0;  // its size in the resident tier
  std::string resident_type;    // "file" or the dtype the resident copy converts to
  ExpertMetrics metrics;
};

struct TierUsage {
  uint64_t budget = 0;
  uint64_t used = 0;  // copies held plus reservations of moves in flight
};

struct StoreSnapshot {
  TierUsage resident;
  TierUsage host;
  std::vector<ExpertState> experts;
  std::vector<MoveRecord> moves;  // the latest, oldest first

  double exposed_seconds() const;
  double swap_seconds() const;
};

nlohmann::json to_json(const MoveRecord& m);
nlohmann::json to_json(const ExpertMetrics& m);
nlohmann::json to_json(const StoreSnapshot& s);

}  // namespace chorus::runtime
