#include "runtime/weight_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "chorus/error.h"
#include "runtime/byte_size.h"
#include "runtime/expert_layout.h"
#include "runtime/tier_moves.h"

namespace chorus::runtime {

using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

// A compute-ready copy of an expert and the views the forward pass reads.
struct ResidentCopy {
  PooledBuffer buffer;
  models::ModelFile file;  // tensors view `buffer`
  models::LlamaWeights weights;
};

struct WeightStore::LoadJob {
  Tier target;           // may be raised to kResident until the job starts
  bool started = false;
  bool done = false;
  // Set when the job failed. Kept as plain values, not the exception: each
  // waiting pin throws its own copy, so no exception object is shared between threads.
  std::optional<ErrorCode> error_code;
  std::string error_message;
};

struct WeightStore::Expert {
  // Fixed after construction.
  ExpertSpec spec;
  models::ModelFile file;  // the disk tier
  ExpertFileRef file_ref;
  ExpertLayout layout;

  // Guarded by the store's mutex.
  PooledBuffer host;                       // empty when not in the host tier
  std::unique_ptr<ResidentCopy> resident;  // null when not resident
  bool loading_host = false;               // a loader thread is filling a host copy
  bool loading_resident = false;           // ... a resident copy (both hold their reservation)
  uint32_t pins = 0;
  uint32_t waiters = 0;  // pins waiting for its load: it must not be evicted under them
  uint64_t last_used = 0;
  std::shared_ptr<LoadJob> job;  // the move queued or running, if any
  double unclaimed_swap_seconds = 0.0;  // load time towards resident that no pin has counted yet
  ExpertMetrics metrics;

  // While a loader thread works on an expert, its copies are neither evicted nor changed by others.
  bool busy() const { return loading_host || loading_resident; }
  bool evictable(Tier tier) const {
    return !busy() && (tier == Tier::kHost ? !host.empty() : resident && pins == 0 && waiters == 0);
  }
};

// Copies evicted under the lock, freed (and page caches dropped) after it.
struct WeightStore::Freed {
  std::vector<PooledBuffer> buffers;
  std::vector<std::unique_ptr<ResidentCopy>> copies;
  std::vector<std::string> to_disk;  // files whose experts left both RAM tiers

  void release() {
    buffers.clear();
    copies.clear();
    for (const std::string& path : to_disk) drop_page_cache(path);
    to_disk.clear();
  }
};

// ---- PinnedExpert ----

PinnedExpert::PinnedExpert(PinnedExpert&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), index_(other.index_), copy_(std::exchange(other.copy_, nullptr)) {}

PinnedExpert& PinnedExpert::operator=(PinnedExpert&& other) noexcept {
  if (this != &other) {
    release();
    store_ = std::exchange(other.store_, nullptr);
    index_ = other.index_;
    copy_ = std::exchange(other.copy_, nullptr);
  }
  return *this;
}

const std::string& PinnedExpert::name() const { return store_->experts_[index_]->spec.name; }
const models::LlamaWeights& PinnedExpert::weights() const { return copy_->weights; }
const models::ModelFile& PinnedExpert::file() const { return copy_->file; }

void PinnedExpert::release() {
  if (store_) std::exchange(store_, nullptr)->unpin(index_);
  copy_ = nullptr;
}

// ---- WeightStore ----

WeightStore::WeightStore(std::vector<ExpertSpec> experts, const StoreBudgets& budgets, WeightStoreOptions options)
    : options_(std::move(options)),
      resident_pages_(budgets.resident_bytes, options_.huge_pages),
      host_pages_(budgets.host_bytes, options_.huge_pages),
      loader_(options_.loader_threads) {
  if (!options_.policy) options_.policy = std::make_unique<LruPolicy>();
  resident_.limit = budgets.resident_bytes;
  host_.limit = budgets.host_bytes;
  std::set<std::string, std::less<>> names;
  for (ExpertSpec& spec : experts) {
    if (!names.insert(spec.name).second)
      throw Error(ErrorCode::kInvalidArgument, fmt::format("expert '{}': registered twice", spec.name));
    auto e = std::make_unique<Expert>();
    try {
      e->file = models::open_model_file(spec.model_path);
      models::bind_llama_weights(e->file);  // shapes and types, before anything is loaded
      e->layout = plan_expert_layout(e->file, spec.dtype);
      struct stat st {};
      if (stat(spec.model_path.c_str(), &st) != 0)
        throw Error(ErrorCode::kIo, fmt::format("{}: cannot stat", spec.model_path));
      e->file_ref = {spec.model_path, static_cast<uint64_t>(st.st_size)};
    } catch (const Error& err) {
      throw Error(err.code(), fmt::format("expert '{}': {}", spec.name, err.what()));
    }
    e->spec = std::move(spec);
    experts_.push_back(std::move(e));
  }
  if (options_.preallocate) {
    resident_pages_.preallocate();
    host_pages_.preallocate();
  }
}

WeightStore::WeightStore(const ExpertRegistry& registry, WeightStoreOptions options)
    : WeightStore(registry.experts, registry.store, std::move(options)) {}

WeightStore::~WeightStore() {
  {
    const std::lock_guard lock(mutex_);
    closing_ = true;
  }
  loader_.stop();  // running moves finish; queued ones are dropped
  // Jobs that never ran: nobody can wait for them any more (no pins outlive the store).
}

size_t WeightStore::index_of(std::string_view name) const {
  for (size_t i = 0; i < experts_.size(); ++i)
    if (experts_[i]->spec.name == name) return i;
  throw Error(ErrorCode::kNotFound, fmt::format("no expert named '{}'", name));
}

void WeightStore::touch(Expert& e) { e.last_used = ++clock_; }

void WeightStore::enqueue(size_t index, Tier target, bool urgent) {
  auto job = std::make_shared<LoadJob>();
  job->target = target;
  experts_[index]->job = job;
  loader_.push([this, index, job] { run_load(index, job); }, urgent);
}

PinnedExpert WeightStore::pin(std::string_view name) {
  std::unique_lock lock(mutex_);
  const size_t index = index_of(name);
  Expert& e = *experts_[index];
  touch(e);
  ++e.waiters;
  const Clock::time_point t0 = Clock::now();
  bool waited = false;
  while (!e.resident) {
    if (closing_) {
      --e.waiters;
      throw Error(ErrorCode::kInvalidArgument, fmt::format("expert '{}': the store is closing", e.spec.name));
    }
    if (!e.job)
      enqueue(index, Tier::kResident, /*urgent=*/true);
    else if (!e.job->started)
      e.job->target = Tier::kResident;
    const std::shared_ptr<LoadJob> job = e.job;
    waited = true;
    changed_.wait(lock, [&] { return job->done; });
    if (job->error_code && job->target == Tier::kResident) {
      --e.waiters;
      ++e.metrics.misses;
      throw Error(*job->error_code, job->error_message);
    }
  }
  const double wait = waited ? seconds_since(t0) : 0.0;
  --e.waiters;
  ++e.pins;
  ++e.metrics.pins;
  ++(waited ? e.metrics.misses : e.metrics.hits);
  const double swap = std::exchange(e.unclaimed_swap_seconds, 0.0);
  e.metrics.swap_seconds += swap;
  e.metrics.exposed_seconds += wait;
  e.metrics.hidden_seconds += std::max(0.0, swap - wait);
  return PinnedExpert(this, index, e.resident.get());
}

void WeightStore::unpin(size_t index) {
  const std::lock_guard lock(mutex_);
  --experts_[index]->pins;
}

void WeightStore::prefetch(std::string_view name, Tier to) {
  if (to == Tier::kDisk) throw Error(ErrorCode::kInvalidArgument, "prefetch: the target must be host or resident");
  const std::lock_guard lock(mutex_);
  const size_t index = index_of(name);
  Expert& e = *experts_[index];
  touch(e);
  if (to == Tier::kResident ? e.resident != nullptr : !e.host.empty()) return;
  if (e.job) {
    if (!e.job->started && to == Tier::kResident) e.job->target = to;
    return;
  }
  if (closing_) return;
  enqueue(index, to, /*urgent=*/false);
}

void WeightStore::evict(std::string_view name, Tier down_to) {
  if (down_to == Tier::kResident) throw Error(ErrorCode::kInvalidArgument, "evict: the target must be host or disk");
  Freed freed;
  {
    std::unique_lock lock(mutex_);
    const size_t index = index_of(name);
    Expert& e = *experts_[index];
    changed_.wait(lock, [&] { return !e.job; });
    if (e.resident) {
      if (e.pins > 0 || e.waiters > 0)
        throw Error(ErrorCode::kInvalidArgument, fmt::format("expert '{}' is pinned: it cannot be evicted", e.spec.name));
      drop_copy(index, Tier::kResident, freed);
    }
    if (down_to == Tier::kDisk && !e.host.empty()) drop_copy(index, Tier::kHost, freed);
  }
  freed.release();
}

void WeightStore::set_upcoming(const std::vector<std::string>& names) {
  const std::lock_guard lock(mutex_);
  options_.policy->set_upcoming(names);
}

void WeightStore::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return std::none_of(experts_.begin(), experts_.end(), [](const auto& e) { return e->job != nullptr; });
  });
}

void WeightStore::drop_copy(size_t index, Tier tier, Freed& freed) {
  Expert& e = *experts_[index];
  if (tier == Tier::kResident) {
    resident_.release(e.layout.resident_bytes);
    freed.copies.push_back(std::move(e.resident));
    ++e.metrics.resident_evictions;
  } else {
    host_.release(e.layout.host_bytes);
    freed.buffers.push_back(std::move(e.host));
    ++e.metrics.host_evictions;
  }
  if (!e.resident && e.host.empty()) freed.to_disk.push_back(e.file_ref.path);
}

bool WeightStore::make_room(Tier tier, uint64_t bytes, size_t incoming, Freed& freed) {
  TierBudget& budget = tier == Tier::kResident ? resident_ : host_;
  if (budget.fits(bytes)) return true;
  if (bytes > budget.limit) return false;
  std::vector<size_t> who;
  std::vector<EvictionCandidate> candidates;
  for (size_t i = 0; i < experts_.size(); ++i) {
    const Expert& e = *experts_[i];
    if (i == incoming || !e.evictable(tier)) continue;
    who.push_back(i);
    candidates.push_back({e.spec.name, tier == Tier::kResident ? e.layout.resident_bytes : e.layout.host_bytes, e.last_used});
  }
  const std::vector<size_t> order = options_.policy->eviction_order(tier, candidates);
  uint64_t room = budget.free();
  size_t needed = 0;
  while (room < bytes && needed < order.size()) room += candidates.at(order[needed++]).bytes;
  if (room < bytes) return false;
  for (size_t k = 0; k < needed; ++k) drop_copy(who[order[k]], tier, freed);
  return true;
}

std::string WeightStore::room_error(Tier tier, uint64_t bytes, size_t incoming) const {
  const TierBudget& budget = tier == Tier::kResident ? resident_ : host_;
  std::vector<std::string> holders;
  for (size_t i = 0; i < experts_.size(); ++i) {
    const Expert& e = *experts_[i];
    if (i == incoming) continue;
    if (tier == Tier::kResident && e.resident && (e.pins > 0 || e.waiters > 0)) holders.push_back(e.spec.name + " (pinned)");
    if (e.busy()) holders.push_back(e.spec.name + " (loading)");
  }
  return fmt::format("expert '{}' needs {} in the {} tier: its budget is {} with {} free{}",
                     experts_[incoming]->spec.name, format_byte_size(bytes), tier_name(tier),
                     format_byte_size(budget.limit), format_byte_size(budget.free()),
                     holders.empty() ? "" : fmt::format(", held by {}", fmt::join(holders, ", ")));
}

void WeightStore::record_move(Expert& e, const MoveRecord& m) {
  ++e.metrics.moves;
  e.metrics.bytes_moved += m.bytes;
  e.metrics.move_seconds += m.seconds;
  moves_.push_back(m);
  while (moves_.size() > options_.move_history) moves_.pop_front();
}

// What one load does; decided, and its bytes reserved, under the lock.
struct WeightStore::LoadPlan {
  bool host = false;
  bool resident = false;
};

// The copies a load made, installed under the lock.
struct WeightStore::LoadedCopies {
  PooledBuffer host;
  std::unique_ptr<ResidentCopy> resident;
  std::vector<MoveRecord> moves;
};

WeightStore::LoadPlan WeightStore::reserve_load(size_t index, Tier target, Freed& freed) {
  Expert& e = *experts_[index];
  if (closing_) throw Error(ErrorCode::kInvalidArgument, fmt::format("expert '{}': the store is closing", e.spec.name));
  LoadPlan plan;
  plan.resident = target == Tier::kResident && !e.resident;
  // A resident load goes through the host tier when the host budget can keep
  // the file's bytes: the next switch back to this expert is then a copy.
  plan.host = e.host.empty() && (target == Tier::kHost || (plan.resident && e.layout.host_bytes <= host_.limit));
  if (plan.resident && !make_room(Tier::kResident, e.layout.resident_bytes, index, freed))
    throw Error(ErrorCode::kResourceExhausted, room_error(Tier::kResident, e.layout.resident_bytes, index));
  if (plan.host && !make_room(Tier::kHost, e.layout.host_bytes, index, freed)) {
    if (target == Tier::kHost)
      throw Error(ErrorCode::kResourceExhausted, room_error(Tier::kHost, e.layout.host_bytes, index));
    plan.host = false;  // optional on the way to resident
  }
  if (plan.resident) resident_.reserve(e.layout.resident_bytes);
  if (plan.host) host_.reserve(e.layout.host_bytes);
  e.loading_resident = plan.resident;
  e.loading_host = plan.host;
  return plan;
}

WeightStore::LoadedCopies WeightStore::copy_in(const Expert& e, const LoadPlan& plan) {
  LoadedCopies out;
  if (plan.host) {
    const Clock::time_point t0 = Clock::now();
    out.host = host_pages_.acquire(e.layout.host_bytes, direct_read_head(e.layout));
    read_host_copy(e.file_ref, e.layout, out.host.data(), options_.read_chunk_bytes);
    out.moves.push_back({e.spec.name, Tier::kDisk, Tier::kHost, e.layout.host_bytes, seconds_since(t0), t0});
  }
  if (plan.resident) {
    const Clock::time_point t0 = Clock::now();
    auto copy = std::make_unique<ResidentCopy>();
    // Laid out as the file when nothing converts: then it can be read directly.
    copy->buffer = resident_pages_.acquire(e.layout.resident_bytes, e.layout.converts ? 0 : direct_read_head(e.layout));
    const uint8_t* host = plan.host ? out.host.data() : e.host.data();  // e.host is stable: the expert is loading
    if (host)
      build_resident_from_host(e.file, e.layout, host, copy->buffer.data());
    else
      build_resident_from_disk(e.file_ref, e.file, e.layout, copy->buffer.data(), options_.read_chunk_bytes);
    copy->file = resident_view(e.file, e.layout, copy->buffer.data());
    copy->weights = models::bind_llama_weights(copy->file);
    out.moves.push_back({e.spec.name, host ? Tier::kHost : Tier::kDisk, Tier::kResident, e.layout.resident_bytes,
                         seconds_since(t0), t0});
    out.resident = std::move(copy);
  }
  return out;
}

void WeightStore::finish_job(Expert& e, LoadJob& job, const std::optional<Error>& error) {
  if (error) {
    e.metrics.last_error = error->what();
    job.error_code = error->code();
    job.error_message = error->what();
  }
  job.done = true;
  e.job = nullptr;
}

void WeightStore::run_load(size_t index, const std::shared_ptr<LoadJob>& job) {
  Expert& e = *experts_[index];
  Freed freed;
  LoadPlan plan;
  std::optional<Error> error;
  {
    const std::lock_guard lock(mutex_);
    job->started = true;
    try {
      plan = reserve_load(index, job->target, freed);
    } catch (const Error& err) {
      error = err;
      finish_job(e, *job, error);
    }
  }
  freed.release();
  if (error) {
    changed_.notify_all();
    return;
  }

  // The bytes move without the lock; the loading flags keep the expert's
  // copies out of everyone else's reach meanwhile.
  LoadedCopies copies;
  try {
    copies = copy_in(e, plan);
  } catch (const Error& err) {
    error = err;
  } catch (const std::bad_alloc&) {
    error = Error(ErrorCode::kResourceExhausted, fmt::format("expert '{}': out of memory while loading", e.spec.name));
  } catch (const std::exception& other) {  // nothing may escape a loader thread
    error = Error(ErrorCode::kInternal, fmt::format("expert '{}': loading failed: {}", e.spec.name, other.what()));
  }

  {
    const std::lock_guard lock(mutex_);
    e.loading_host = e.loading_resident = false;
    if (error) {
      if (plan.resident) resident_.release(e.layout.resident_bytes);
      if (plan.host) host_.release(e.layout.host_bytes);
    } else {
      if (plan.host) e.host = std::move(copies.host);
      if (plan.resident) e.resident = std::move(copies.resident);
      for (const MoveRecord& m : copies.moves) {
        record_move(e, m);
        if (plan.resident) e.unclaimed_swap_seconds += m.seconds;
      }
    }
    finish_job(e, *job, error);
  }
  changed_.notify_all();  // copies of a failed load are freed on return, outside the lock
}

StoreSnapshot WeightStore::snapshot() const {
  const std::lock_guard lock(mutex_);
  StoreSnapshot s;
  s.resident = {resident_.limit, resident_.used};
  s.host = {host_.limit, host_.used};
  for (const auto& ptr : experts_) {
    const Expert& e = *ptr;
    s.experts.push_back({e.spec.name, e.spec.model_path, !e.host.empty(), e.resident != nullptr, e.loading_host,
                         e.loading_resident, e.job != nullptr, e.pins, e.layout.host_bytes, e.layout.resident_bytes,
                         e.layout.converts ? kernels::type_name(*e.spec.dtype) : "file", e.metrics});
  }
  s.moves.assign(moves_.begin(), moves_.end());
  return s;
}

}  // namespace chorus::runtime
