// chorus bench tiers: how fast the weight store moves experts between tiers,
// beside the limits measured in the same run (memcpy bandwidth; cold
// sequential read of the disk), and how much of the swap time prefetching
// hides in a workload that cycles through more experts than fit resident.
//
// The synthetic experts are GGUF files written to a temporary folder and
// deleted afterwards; --experts runs the workload on a registry's experts instead.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chorus/error.h"
#include "models/json_text.h"
#include "models/synthetic_model.h"
#include "runtime/byte_size.h"
#include "runtime/expert_registry.h"
#include "runtime/page_pool.h"
#include "runtime/tier_moves.h"
#include "runtime/weight_store.h"
#include "tools/commands.h"
#include "tools/fixture_path.h"
#include "tools/number_flags.h"

namespace chorus::cli {

namespace {

using Clock = std::chrono::steady_clock;
using runtime::Tier;

struct BenchTiersArgs {
  std::string experts;
  std::vector<std::string> sizes = {"50MB", "200MB", "1GB"};
  std::string workload_size = "128MB";
  int workload_experts = 4;
  int requests = 24;
  double compute_ms = 40.0;
  int repeats = 2;
  std::string dir;
  std::string tokenizer = fixture_path("models/stories260K/tok512.bin");
  bool json = false;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Best of three copies between two buffers whose pages are already touched.
double memcpy_gb_s(size_t bytes) {
  runtime::PagePool pool(2 * bytes, true);
  pool.preallocate();
  const runtime::PooledBuffer src = pool.acquire(bytes), dst = pool.acquire(bytes);
  std::memset(src.data(), 1, bytes);
  double best = 0.0;
  for (int i = 0; i < 3; ++i) {
    const Clock::time_point t0 = Clock::now();
    std::memcpy(dst.data(), src.data(), bytes);
    best = std::max(best, static_cast<double>(bytes) / seconds_since(t0) / 1e9);
  }
  return best;
}

// Writes the file's dirty pages out, then drops them from the page cache.
void flush_and_drop(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open", path));
  ::fdatasync(fd);
  ::close(fd);
  runtime::drop_page_cache(path);
}

// The disk's limit: the whole file read sequentially from a cold page cache,
// in 8 MiB preads into one reused buffer (no page faults, no copies after),
// through the page cache or around it (O_DIRECT, as the store reads when it
// can; where a file system refuses that, buffered again).
double cold_read_gb_s(const std::string& path, bool direct) {
  flush_and_drop(path);
  constexpr size_t kChunk = 8u << 20;
  const std::unique_ptr<uint8_t, decltype(&std::free)> buffer(static_cast<uint8_t*>(std::aligned_alloc(4096, kChunk)),
                                                             &std::free);
  if (!buffer) throw Error(ErrorCode::kResourceExhausted, "no memory for the read buffer");
  int fd = direct ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT) : -1;
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIo, fmt::format("{}: cannot open", path));
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  const Clock::time_point t0 = Clock::now();
  uint64_t total = 0;
  for (ssize_t got; (got = ::pread(fd, buffer.get(), kChunk, static_cast<off_t>(total))) > 0;)
    total += static_cast<uint64_t>(got);
  const double seconds = seconds_since(t0);
  ::close(fd);
  return static_cast<double>(total) / seconds / 1e9;
}

// The faster of the two ways to read the disk.
double cold_read_limit_gb_s(const std::string& path) {
  return std::max(cold_read_gb_s(path, false), cold_read_gb_s(path, true));
}

// An f32 Llama of width 512 with as many layers as make about `bytes`, and
// the 512-token vocabulary of `tokenizer`.
models::SyntheticPreset preset_for_bytes(const std::string& name, uint64_t bytes) {
  models::SyntheticPreset preset{name, {}, true};
  models::LlamaConfig& c = preset.config;
  c.dim = 512;
  c.hidden_dim = 1536;
  c.n_heads = c.n_kv_heads = 8;
  c.head_dim = c.rope_dim = 64;
  c.vocab_size = 512;
  c.context_length = 256;
  const uint64_t per_layer = 4ull * (4ull * c.dim * c.dim + 3ull * c.dim * c.hidden_dim + 2ull * c.dim);
  c.n_layers = static_cast<int32_t>(std::max<uint64_t>(1, (bytes + per_layer / 2) / per_layer));
  return preset;
}

runtime::ExpertSpec synthetic_spec(const BenchTiersArgs& a, const std::string& dir, const std::string& name,
                                   uint64_t bytes, uint64_t seed) {
  runtime::ExpertSpec spec;
  spec.name = name;
  spec.model_path = (std::filesystem::path(dir) / (name + ".gguf")).string();
  models::write_synthetic_model(preset_for_bytes(name, bytes), kernels::GgmlType::F32, a.tokenizer, seed, spec.model_path);
  flush_and_drop(spec.model_path);
  return spec;
}

// The latest move of the store that went from → to.
runtime::MoveRecord last_move(const runtime::WeightStore& store, Tier from, Tier to) {
  const runtime::StoreSnapshot s = store.snapshot();
  for (auto it = s.moves.rbegin(); it != s.moves.rend(); ++it)
    if (it->from == from && it->to == to) return *it;
  throw Error(ErrorCode::kInternal, fmt::format("bench: no {} → {} move was recorded", runtime::tier_name(from),
                                                runtime::tier_name(to)));
}

// The tiers' memory faulted in up front, as a fixed tier memory would be: moves then measure copying alone.
runtime::WeightStoreOptions preallocated() {
  runtime::WeightStoreOptions options;
  options.preallocate = true;
  return options;
}

nlohmann::json move_json(const runtime::MoveRecord& m, double limit_gb_s) {
  return {{"from", runtime::tier_name(m.from)}, {"to", runtime::tier_name(m.to)}, {"bytes", m.bytes},
          {"seconds", m.seconds}, {"gb_s", m.gb_s()}, {"limit_gb_s", limit_gb_s},
          {"fraction_of_limit", m.gb_s() / limit_gb_s}};
}

// One synthetic expert's three moves and the limits they compare with, each
// the best of `repeats` rounds (the machine is shared: single runs are noisy).
struct SizeResult {
  runtime::MoveRecord disk_to_host, host_to_resident, disk_to_resident;
  double disk_limit = 0.0;
  double memcpy_limit = 0.0;
};

void keep_faster(runtime::MoveRecord& best, const runtime::MoveRecord& m) {
  if (best.bytes == 0 || m.gb_s() > best.gb_s()) best = m;
}

SizeResult measure_moves(const runtime::ExpertSpec& spec, int repeats) {
  const uint64_t room = std::filesystem::file_size(spec.model_path);
  SizeResult r;
  for (int i = 0; i < repeats; ++i) {
    r.disk_limit = std::max(r.disk_limit, cold_read_limit_gb_s(spec.model_path));
    r.memcpy_limit = std::max(r.memcpy_limit, memcpy_gb_s(std::min<uint64_t>(room, 256u << 20)));
    {
      runtime::WeightStore store({spec}, {room, room}, preallocated());
      runtime::drop_page_cache(spec.model_path);
      store.prefetch(spec.name, Tier::kHost);
      store.wait_idle();
      keep_faster(r.disk_to_host, last_move(store, Tier::kDisk, Tier::kHost));
      { const runtime::PinnedExpert p = store.pin(spec.name); }
      keep_faster(r.host_to_resident, last_move(store, Tier::kHost, Tier::kResident));
    }
    runtime::WeightStore cold({spec}, {room, 0}, preallocated());  // no host tier: the load reads the disk
    runtime::drop_page_cache(spec.model_path);
    { const runtime::PinnedExpert p = cold.pin(spec.name); }
    keep_faster(r.disk_to_resident, last_move(cold, Tier::kDisk, Tier::kResident));
    // Again after the moves: a virtual disk's host may cache what was read, for the limit as for the moves.
    r.disk_limit = std::max(r.disk_limit, cold_read_limit_gb_s(spec.model_path));
  }
  runtime::drop_page_cache(spec.model_path);
  return r;
}

// A B A C B D C E …: each expert comes back one step after the next one is
// new, so the working set keeps moving through more experts than fit resident.
std::vector<size_t> alternating_sequence(size_t experts, int requests) {
  std::vector<size_t> seq;
  for (int r = 0; r < requests; ++r) {
    const size_t j = static_cast<size_t>(r / 2);
    seq.push_back(r < 2 ? static_cast<size_t>(r) % experts : (r % 2 == 0 ? j - 1 : j + 1) % experts);
  }
  return seq;
}

nlohmann::json run_workload(const std::vector<runtime::ExpertSpec>& experts, const runtime::StoreBudgets& budgets,
                            const std::vector<size_t>& sequence, double compute_ms, bool prefetch) {
  runtime::WeightStore store(experts, budgets, preallocated());
  // Start with every expert in the host tier where it fits: the workload measures switches, not first loads.
  for (const runtime::ExpertSpec& e : experts) store.prefetch(e.name, Tier::kHost);
  store.wait_idle();
  std::vector<double> exposed;
  for (size_t r = 0; r < sequence.size(); ++r) {
    const std::string& name = experts[sequence[r]].name;
    const bool has_next = r + 1 < sequence.size() && sequence[r + 1] != sequence[r];
    if (has_next) store.set_upcoming({experts[sequence[r + 1]].name});
    const double before = store.snapshot().exposed_seconds();
    const runtime::PinnedExpert pinned = store.pin(name);
    exposed.push_back(store.snapshot().exposed_seconds() - before);
    if (prefetch && has_next) store.prefetch(experts[sequence[r + 1]].name);
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(compute_ms));  // the batch's compute
  }
  store.wait_idle();
  const runtime::StoreSnapshot s = store.snapshot();
  const double total = s.swap_seconds();
  return {{"exposed_s", s.exposed_seconds()},
          {"total_swap_s", total},
          {"hidden_fraction", total > 0.0 ? 1.0 - std::min(1.0, s.exposed_seconds() / total) : 1.0},
          {"exposed_per_request_s", exposed}};
}

std::string sequence_letters(const std::vector<size_t>& seq) {
  std::string s;
  for (size_t i : seq) s += i < 26 ? static_cast<char>('A' + i) : '?';
  return s;
}

int run_bench_tiers(const BenchTiersArgs& a) {
  const std::filesystem::path dir =
      (a.dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(a.dir)) /
      fmt::format("chorus-bench-tiers-{}", ::getpid());
  std::filesystem::create_directories(dir);
  struct RemoveDir {  // the synthetic experts go, whatever happens
    std::filesystem::path p;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{dir};

  nlohmann::json out;
  nlohmann::json moves = nlohmann::json::array(), limits = nlohmann::json::array(), switches = nlohmann::json::array();
  for (size_t i = 0; i < a.sizes.size(); ++i) {
    const uint64_t bytes = runtime::parse_byte_size(a.sizes[i], "--sizes");
    const runtime::ExpertSpec spec = synthetic_spec(a, dir.string(), fmt::format("moves{}", i), bytes, 7 + i);
    const SizeResult r = measure_moves(spec, a.repeats);
    limits.push_back({{"bytes", std::filesystem::file_size(spec.model_path)},
                      {"disk_cold_read_gb_s", r.disk_limit},
                      {"memcpy_gb_s", r.memcpy_limit}});
    moves.push_back(move_json(r.disk_to_host, r.disk_limit));
    moves.push_back(move_json(r.host_to_resident, r.memcpy_limit));
    moves.push_back(move_json(r.disk_to_resident, r.disk_limit));
    switches.push_back({{"bytes", r.host_to_resident.bytes},
                        {"host_to_resident_s", r.host_to_resident.seconds},
                        {"disk_to_resident_s", r.disk_to_resident.seconds},
                        {"cold_reload_over_host_switch", r.disk_to_resident.seconds / r.host_to_resident.seconds}});
    std::filesystem::remove(spec.model_path);
    if (!a.json) std::fprintf(stderr, "moves: %s done\n", a.sizes[i].c_str());
  }
  out["limits"] = limits;
  out["moves"] = moves;
  out["host_switch_vs_cold_reload"] = switches;

  std::vector<runtime::ExpertSpec> experts;
  runtime::StoreBudgets budgets;
  if (!a.experts.empty()) {
    const runtime::ExpertRegistry registry = runtime::load_expert_registry(a.experts);
    experts = registry.experts;
    budgets = registry.store;
  } else {
    const uint64_t bytes = runtime::parse_byte_size(a.workload_size, "--workload-size");
    for (int i = 0; i < a.workload_experts; ++i)
      experts.push_back(synthetic_spec(a, dir.string(), fmt::format("w{}", i), bytes, 100 + i));
    const uint64_t expert_bytes = std::filesystem::file_size(experts[0].model_path);
    budgets = {expert_bytes * 5 / 2, expert_bytes * static_cast<uint64_t>(a.workload_experts + 1)};  // 2 resident, all host
  }
  const std::vector<size_t> sequence = alternating_sequence(experts.size(), a.requests);
  out["workload"] = {{"experts", experts.size()},
                     {"resident_budget_bytes", budgets.resident_bytes},
                     {"host_budget_bytes", budgets.host_bytes},
                     {"sequence", sequence_letters(sequence)},
                     {"compute_s_per_request", a.compute_ms / 1e3},
                     {"prefetch", run_workload(experts, budgets, sequence, a.compute_ms, true)},
                     {"no_prefetch", run_workload(experts, budgets, sequence, a.compute_ms, false)}};

  if (a.json) {
    std::puts(models::json_text(out, 2).c_str());
    return 0;
  }
  for (const auto& l : limits)
    fmt::print("limits for {}: memcpy {:.2f} GB/s, cold disk read {:.2f} GB/s\n",
               runtime::format_byte_size(l["bytes"].get<uint64_t>()), l["memcpy_gb_s"].get<double>(),
               l["disk_cold_read_gb_s"].get<double>());
  fmt::print("\n{:<10} {:<10} {:>12} {:>10} {:>10} {:>10} {:>8}\n", "from", "to", "bytes", "seconds", "GB/s", "limit", "ratio");
  for (const auto& m : moves)
    fmt::print("{:<10} {:<10} {:>12} {:>10.4f} {:>10.2f} {:>10.2f} {:>7.0f}%\n", m["from"].get<std::string>(),
               m["to"].get<std::string>(), runtime::format_byte_size(m["bytes"].get<uint64_t>()),
               m["seconds"].get<double>(), m["gb_s"].get<double>(), m["limit_gb_s"].get<double>(),
               100.0 * m["fraction_of_limit"].get<double>());
  for (const auto& s : switches)
    fmt::print("switch to a host-tier expert of {}: {:.1f}x faster than a cold reload\n",
               runtime::format_byte_size(s["bytes"].get<uint64_t>()), s["cold_reload_over_host_switch"].get<double>());
  const auto& w = out["workload"];
  fmt::print("\nworkload {} over {} experts, {:.0f} ms compute per request:\n", w["sequence"].get<std::string>(),
             experts.size(), a.compute_ms);
  for (const char* mode : {"prefetch", "no_prefetch"})
    fmt::print("  {:<12} exposed {:.4f} s of {:.4f} s swap ({:.1f}% hidden)\n", mode, w[mode]["exposed_s"].get<double>(),
               w[mode]["total_swap_s"].get<double>(), 100.0 * w[mode]["hidden_fraction"].get<double>());
  return 0;
}

}  // namespace

void register_bench_tiers(CLI::App& bench, int& exit_code) {
  auto a = std::make_shared<BenchTiersArgs>();
  auto* cmd = bench.add_subcommand("tiers", "Weight-store moves (disk/host/resident) beside memcpy and cold-disk limits, "
                                            "and the swap time prefetch hides");
  cmd->add_option("--experts", a->experts, "experts.json: run the workload on these experts and budgets")
      ->check(CLI::ExistingFile);
  cmd->add_option("--sizes", a->sizes, "Synthetic expert sizes for the moves")->delimiter(',')
      ->check(byte_size_in(1 << 20, 1ull << 40));
  cmd->add_option("--workload-size", a->workload_size, "Size of each synthetic workload expert")->capture_default_str()
      ->check(byte_size_in(1 << 20, 1ull << 40));
  cmd->add_option("--workload-experts", a->workload_experts, "Synthetic workload experts (2 fit resident)")
      ->check(integer_in(3, 26));
  cmd->add_option("--requests", a->requests, "Requests in the workload")->check(integer_in(1, 10000));
  cmd->add_option("--compute-ms", a->compute_ms, "Simulated compute per request")->check(real_in(0.0, 60000.0));
  cmd->add_option("--repeats", a->repeats, "Rounds per move size; the best counts")->check(integer_in(1, 20));
  cmd->add_option("--tokenizer", a->tokenizer, "llama2.c tokenizer.bin (512 tokens or more) for the synthetic experts")
      ->check(CLI::ExistingFile);
  cmd->add_option("--dir", a->dir, "Where to make the folder for the synthetic files (default: the system temp folder); it is removed after")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", a->json, "JSON output");
  cmd->callback([a, &exit_code] { exit_code = run_bench_tiers(*a); });
}

}  // namespace chorus::cli
