// The three-tier weight store (ARCHITECTURE: "The three memory tiers").
//
//   disk     — the expert's file: a read-only mapping, used for metadata only;
//              never counted against a budget.
//   host     — the file's tensor bytes as stored, in anonymous memory.
//   resident — compute-ready weights (converted to the expert's dtype if it
//              names one), pages touched, huge pages where the system allows.
//
// Moves run on loader threads; prefetch() queues one and returns, pin() waits
// for one if it must. A pinned expert stays resident until its handle goes.
// Budgets are never exceeded: a load reserves its bytes before it starts,
// evicting unpinned experts in the policy's order (LRU by default), or fails
// with kResourceExhausted.
//
// Locking: one mutex guards every expert's tier state, the budgets, the
// policy and the metrics; moves copy bytes without it, into buffers that the
// loading expert's loading flags keep from being evicted or read. A pinned
// handle's weights need no lock: a pinned expert's resident copy is never
// changed or freed. The store must outlive its pinned handles.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "chorus/error.h"
#include "models/llama_weights.h"
#include "models/model_file.h"
#include "runtime/eviction_policy.h"
#include "runtime/expert_registry.h"
#include "runtime/loader_queue.h"
#include "runtime/page_pool.h"
#include "runtime/store_metrics.h"
#include "runtime/tier_budget.h"

namespace chorus::runtime {

class WeightStore;
struct ResidentCopy;

// Keeps one expert resident while it lives; move-only.
class PinnedExpert {
 public:
  PinnedExpert() = default;
  ~PinnedExpert() { release(); }
  PinnedExpert(PinnedExpert&& other) noexcept;
  PinnedExpert& operator=(PinnedExpert&& other) noexcept;
  PinnedExpert(const PinnedExpert&) = delete;
  PinnedExpert& operator=(const PinnedExpert&) = delete;

  explicit operator bool() const { return store_ != nullptr; }
  const std::string& name() const;
  const models::LlamaWeights& weights() const;  // views of the resident copy
  const models::ModelFile& file() const;        // config and tensors, as resident
  void release();                               // unpins now (the destructor does it too)

 private:
  friend class WeightStore;
  PinnedExpert(WeightStore* store, size_t index, const ResidentCopy* copy) : store_(store), index_(index), copy_(copy) {}

  WeightStore* store_ = nullptr;
  size_t index_ = 0;
  const ResidentCopy* copy_ = nullptr;
};

struct WeightStoreOptions {
  int loader_threads = 1;
  std::unique_ptr<EvictionPolicy> policy;  // nullptr: LruPolicy
  bool huge_pages = true;                  // advise MADV_HUGEPAGE on host and resident copies
  bool preallocate = false;                // fault both tiers' budgets in at construction (see page_pool.h)
  size_t read_chunk_bytes = 8u << 20;      // pread size for disk reads
  size_t move_history = 1024;              // how many moves the snapshot keeps
};

class WeightStore {
 public:
  // Opens every expert's file and checks that it binds as a Llama model; throws
  // chorus::Error naming the expert. Nothing is loaded yet: all start on disk.
  WeightStore(std::vector<ExpertSpec> experts, const StoreBudgets& budgets, WeightStoreOptions options = {});
  explicit WeightStore(const ExpertRegistry& registry, WeightStoreOptions options = {});
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  // Makes the expert resident (waiting for its load if needed) and pins it.
  // Throws kNotFound for an unknown name, kResourceExhausted when the resident
  // budget cannot make room (it is too small, or pinned experts fill it), kIo
  // when its file cannot be read or changed since registration.
  PinnedExpert pin(std::string_view name);
  // Queues a move towards `to` (host or resident) and returns. Failures show
  // in the expert's metrics.last_error and surface at the next pin.
  void prefetch(std::string_view name, Tier to = Tier::kResident);
  // Drops the expert's copies above `down_to` (kHost: the resident copy;
  // kDisk: both), after any move in flight. Throws kInvalidArgument when the
  // resident copy must go but the expert is pinned.
  void evict(std::string_view name, Tier down_to);
  // Tells the eviction policy what runs next, soonest first.
  void set_upcoming(const std::vector<std::string>& names);
  // Returns when no move is queued or running.
  void wait_idle();

  StoreSnapshot snapshot() const;
  size_t size() const { return experts_.size(); }

 private:
  friend class PinnedExpert;
  struct Expert;
  struct LoadJob;

  struct Freed;
  struct LoadPlan;
  struct LoadedCopies;

  size_t index_of(std::string_view name) const;  // throws kNotFound
  void touch(Expert& e);
  void enqueue(size_t index, Tier target, bool urgent);
  void unpin(size_t index);

  // A loader thread's job: reserve_load (locked), copy_in (unlocked), install (locked).
  void run_load(size_t index, const std::shared_ptr<LoadJob>& job);
  LoadPlan reserve_load(size_t index, Tier target, Freed& freed);
  LoadedCopies copy_in(const Expert& e, const LoadPlan& plan);
  void finish_job(Expert& e, LoadJob& job, const std::optional<Error>& error);  // locked; waiters still need waking

  // Under the lock: frees room for `bytes` in `tier` by evicting other
  // experts' copies there, in the policy's order; false (and nothing evicted)
  // when even evicting every candidate would not do.
  bool make_room(Tier tier, uint64_t bytes, size_t incoming, Freed& freed);
  void drop_copy(size_t index, Tier tier, Freed& freed);
  std::string room_error(Tier tier, uint64_t bytes, size_t incoming) const;
  void record_move(Expert& e, const MoveRecord& m);

  WeightStoreOptions options_;
  PagePool resident_pages_;  // before experts_: their copies go back to these
  PagePool host_pages_;
  std::vector<std::unique_ptr<Expert>> experts_;  // fixed after construction

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a job finished or a pin went
  TierBudget resident_;
  TierBudget host_;
  uint64_t clock_ = 0;
  bool closing_ = false;
  std::deque<MoveRecord> moves_;

  LoaderQueue loader_;  // last: its threads stop before the members they use go
};

}  // namespace chorus::runtime
