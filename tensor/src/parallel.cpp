// The thread-count setting and the worker pool behind detail::parallel_for.
//
// Design: one process-wide pool of workers, grown on demand up to the largest thread count ever
// asked for. A call publishes one job (function pointer, context, task ranges) and bumps a
// generation counter; workers see it, check in, run tasks, and report done. Numbers below are
// from bench/parallel_bench on this project's 2-vCPU Zen 5 VM.
//
// - Spin, then sleep. A worker waiting for the next job spins for 10 times what waking it costs
//   (measured when the pool starts: a wake ~150-250 us here), then sleeps on a condition
//   variable; the caller waits for its helpers the same way. A training step's jobs follow each
//   other closely enough that its helpers stay awake: a fork-join costs ~1.5 us hot, against
//   11 us before this design and 100+ us after a sleep.
// - Back off when the machine is busy. Spinning steals the core a neighbour needs, which is how
//   OpenMP-based peers collapse under contention (1-4 ms for a 40 us job with the other core
//   busy). A worker that the OS preempted (its involuntary context switches went up) stops the
//   pool spinning for a number of jobs that doubles while preemptions recur and halves after a
//   clean spin.
// - Do not wait for the late. The caller closes the job once every task is taken; a helper that
//   checks in after that stays out, so a job never waits for a helper that slept too long.
// - Stay off the caller's CPU. Linux may wake a helper on its waker's CPU and leave it there
//   (move_off), where it runs only while the caller waits.
//
// Who runs which task: participant p (the caller is 0, helper i is i + 1) owns the p-th of
// equal contiguous ranges of tasks and runs it front to back; a participant whose range is empty
// takes tasks from the back of the others' ranges. So when nobody is slowed down, a task index
// goes to the same thread on every call with the same task count, and the rows a forward pass
// wrote are the rows the same core reads back in the backward pass (from its own caches). One
// shared counter handed them out at random instead: on a 2-vCPU VM whose cores sit on different
// L3s, a row block written by one core read back 2-3x slower by the other, and the seed's
// two-layer forward on 2 threads took longer than on one at 5,000 rows (194 vs 136 us). A
// neighbour slowing one thread still only makes it run fewer tasks: the others steal them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#include <sys/resource.h>
#endif

#include "affine/tensor/error.hpp"
#include "affine/tensor/parallel.hpp"
#include "parallel_for.hpp"

namespace affine {
namespace detail {
namespace {

int initial_num_threads() {
  if (const char* env = std::getenv("AFFINE_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 4096) return static_cast<int>(v);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// The documented thread-count setting (see affine/tensor/parallel.hpp).
std::atomic<int>& thread_setting() {
  static std::atomic<int> n{initial_num_threads()};
  return n;
}

// Set while a thread runs tasks, so nested parallel_for calls run serially instead of
// deadlocking on the pool they are already part of.
thread_local bool t_inside_task = false;

// The tasks [front, back) not yet taken from one participant's range, in one atomic word (32
// bits each: parallel_run hands the pool fewer than 2^32 tasks at a time) so that the owner
// taking the front and a thief taking the back never both get the last task. Each range has its
// own cache line, so an owner's taking does not disturb another's.
class alignas(64) TaskRange {
 public:
  void set(int64_t front, int64_t back) { v_.store(pack(front, back), std::memory_order_relaxed); }
  // The next task from the front, or -1 when the range is empty.
  int64_t take_front() {
    uint64_t v = v_.load(std::memory_order_relaxed);
    while (front(v) < back(v)) {
      if (v_.compare_exchange_weak(v, pack(front(v) + 1, back(v)), std::memory_order_relaxed))
        return front(v);
    }
    return -1;
  }
  // The last task of the range, or -1 when it is empty.
  int64_t take_back() {
    uint64_t v = v_.load(std::memory_order_relaxed);
    while (front(v) < back(v)) {
      if (v_.compare_exchange_weak(v, pack(front(v), back(v) - 1), std::memory_order_relaxed))
        return back(v) - 1;
    }
    return -1;
  }

 private:
  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32;
  }
  static int64_t front(uint64_t v) { return static_cast<int64_t>(v & 0xffffffffu); }
  static int64_t back(uint64_t v) { return static_cast<int64_t>(v >> 32); }

  std::atomic<uint64_t> v_{0};
};

// Lets a spinning thread's sibling hyperthread (or the hypervisor) have the core for a moment.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// How many times the OS has taken this thread off its core while it could still run (Linux);
// -1 where that is not known.
int64_t involuntary_switches() {
#if defined(__linux__) && defined(RUSAGE_THREAD)
  rusage ru{};
  if (getrusage(RUSAGE_THREAD, &ru) == 0) return ru.ru_nivcsw;
#endif
  return -1;
}

// The CPU this thread runs on, or -1 where that is not known.
int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Moves this thread off `cpu` when its affinity allows another: briefly narrows the affinity to
// the others, which migrates it, then restores it. Linux places a woken thread on the CPU of the
// thread that woke it, or where it last ran, and looks for an idle CPU only among those sharing
// a last-level cache; on a VM that reports none (this project's 2-vCPU one), a helper woken by
// the caller can land on the caller's CPU and stay there, so that every "parallel" job ran on
// one CPU (two 200 us tasks took 400 us) while the other idled.
void move_off(int cpu) {
#if defined(__linux__)
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2) return;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof others, &others) == 0)
    sched_setaffinity(0, sizeof allowed, &allowed);
#else
  (void)cpu;
#endif
}

// Spins until pred() holds or `budget` has passed; true when pred() held.
template <class Pred>
bool spin_until(const Pred& pred, std::chrono::nanoseconds budget) {
  if (budget.count() <= 0) return pred();
  const auto end = std::chrono::steady_clock::now() + budget;
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= end) return pred();
  }
}

class Pool {
 public:
  // Starts the first helper and measures what a fork-join costs (calibrate).
  Pool() { calibrate(); }

  // Runs the job with the caller plus up to helpers_wanted workers.
  void run(int64_t n_tasks, int helpers_wanted, TaskFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another user thread is using the pool: do our share alone
      run_serial(n_tasks, fn, ctx);
      return;
    }
    run_owned(n_tasks, helpers_wanted, fn, ctx, /*wait_for_all=*/false);
  }

  static void run_serial(int64_t n_tasks, TaskFn fn, void* ctx) {
    const bool was_inside = t_inside_task;
    t_inside_task = true;
    try {
      for (int64_t t = 0; t < n_tasks; ++t) fn(ctx, t);
    } catch (...) {
      t_inside_task = was_inside;
      throw;
    }
    t_inside_task = was_inside;
  }

  // Whether `helpers` workers are awake: spinning after a recent job, or working.
  bool helpers_awake(int helpers) const {
    return workers_.load(std::memory_order_relaxed) - sleepers_.load(std::memory_order_relaxed) >=
           helpers;
  }
  double hot_round_trip() const { return hot_; }
  double cross_core_bytes_per_second() const { return cross_core_; }
  double cold_round_trip() const { return cold_; }
  std::chrono::nanoseconds spin_budget() const {
    return std::chrono::nanoseconds(spin_ns_.load(std::memory_order_relaxed));
  }

 private:
  // The join word: which job is open (its generation), whether the caller has closed it, how
  // many helpers it wants and how many have checked in. One word, so that a helper checks in to
  // the job it read, and only while that job is open.
  static constexpr uint64_t kClosed = uint64_t{1} << 31;
  static constexpr int kWantedShift = 16;
  static uint64_t join_word(uint32_t gen, int wanted) {
    return uint64_t{gen} << 32 | static_cast<uint64_t>(wanted) << kWantedShift;
  }
  static uint32_t gen_of(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
  static int wanted_of(uint64_t w) { return static_cast<int>((w >> kWantedShift) & 0x7fff); }
  static int started_of(uint64_t w) { return static_cast<int>(w & 0xffff); }

  // Measures the pool's two costs and sets the spin budget from them. Cold: an empty job whose
  // helper has slept 1 ms, the median of 5. Hot: the fastest of back-to-back empty jobs, the
  // helper spinning in between. A thread that waits spins for 10 cold round trips (at most 5 ms)
  // before it sleeps: a wake costs more than the round trip itself, since a job that finds its
  // helper asleep runs mostly on one thread, and a training step's serial stretches (its loss,
  // its last layer) outlast one round trip. The seed's step at batch 100,000 on 2 threads took
  // 4.8 ms with no spinning, 3.6-4.9 ms spinning one cold round trip (~150 us here), and 3.1-3.3
  // ms spinning 1 ms. env AFFINE_POOL_SPIN_US overrides the budget.
  void calibrate() {
    std::lock_guard<std::mutex> busy(busy_);
    const std::optional<int64_t> spin_override = spin_override_ns();  // may throw: no thread yet
    const auto empty = [](void*, int64_t) {};
    const auto time_one = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      run_owned(2, 1, empty, nullptr, /*wait_for_all=*/true);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    spin_ns_.store(0);
    time_one();  // starts the helper
    std::vector<double> cold;
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      cold.push_back(time_one());
    }
    std::nth_element(cold.begin(), cold.begin() + 2, cold.end());
    cold_ = cold[2];
    const double budget = std::min(10 * cold_, 5e-3);
    spin_ns_.store(spin_override.value_or(static_cast<int64_t>(budget * 1e9)));
    hot_ = cold_;
    for (int i = 0; i < 32; ++i) hot_ = std::min(hot_, time_one());
    cross_core_ = measure_cross_core();
  }

  // Bytes per second a helper reads of what the caller has just written: the price of handing
  // a helper operands from the caller's caches (the fastest of 8 hot jobs in which the helper
  // sums 256 KiB the caller has just rewritten, less the hot round trip). On this project's
  // 2-vCPU VM ~26-40 GB/s, against ~80 GB/s from a core's own caches.
  double measure_cross_core() {
    constexpr int64_t kWords = 32 * 1024;  // 256 KiB
    struct Probe {
      std::vector<uint64_t> data = std::vector<uint64_t>(kWords, 1);
      std::thread::id caller = std::this_thread::get_id();
      std::atomic<bool> helper_started{false};
      bool helper_read = false;
      uint64_t sink = 0;
    } probe;
    double best = 1e300;
    for (int i = 0; i < 8; ++i) {
      for (uint64_t& v : probe.data) v += 1;
      probe.helper_read = false;
      probe.helper_started.store(false);
      const auto t0 = std::chrono::steady_clock::now();
      run_owned(
          2, 1,
          [](void* c, int64_t t) {
            Probe& pr = *static_cast<Probe*>(c);
            if (std::this_thread::get_id() == pr.caller) {
              // Task 0: leave task 1 to the helper (for 1 ms at most).
              spin_until([&] { return pr.helper_started.load(); }, std::chrono::milliseconds(1));
              return;
            }
            if (t != 1) return;
            pr.helper_started.store(true);
            uint64_t x = 0;  // integer xor vectorizes: the loop runs at the speed of the reads
            for (const uint64_t v : pr.data) x ^= v;
            pr.sink = x;
            pr.helper_read = true;
          },
          &probe, /*wait_for_all=*/true);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (probe.helper_read) best = std::min(best, s);
    }
    const double read = best - hot_;
    if (best > 1e299 || read <= 0) return 1e12;  // not measured: treat moving data as free
    return double(kWords) * sizeof(uint64_t) / read;
  }

  // AFFINE_POOL_SPIN_US, in nanoseconds, when set.
  static std::optional<int64_t> spin_override_ns() {
    const char* env = std::getenv("AFFINE_POOL_SPIN_US");
    if (env == nullptr || *env == '\0') return std::nullopt;
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || v < 0 || v > 1000000)
      throw Error(std::string("AFFINE_POOL_SPIN_US: expected microseconds in [0, 1000000], got '") +
                  env + "'");
    return int64_t{v} * 1000;
  }

  // How long a waiting thread spins before it sleeps: the budget, or 0 while the pool backs off
  // after a preemption (note_preemption).
  std::chrono::nanoseconds spin() const {
    const uint32_t gen = generation_.load(std::memory_order_relaxed);
    const uint32_t from = spin_from_gen_.load(std::memory_order_relaxed);
    if (static_cast<int32_t>(from - gen) > 0) return std::chrono::nanoseconds(0);
    return spin_budget();
  }

  // A helper's report, after each job, of whether the OS preempted it since its last report and
  // whether it spun meanwhile. A preemption means another thread wants this core: spinning takes
  // the core from it, and a helper preempted after it checked in holds the job up until it runs
  // again (how OpenMP's spinning threads collapse on a busy machine), while a helper woken from
  // sleep is favoured by the scheduler and finishes its tasks. So the pool stops spinning for the
  // next `backoff` jobs, doubling it while preemptions recur; a spin that went unpreempted halves
  // it. (Ending the back-off after one clean spin instead let a busy neighbour's core take the
  // helper mid-task again and again: 4 tasks of 100 us took 530-575 us, against 400 on one thread
  // and 305 with no spinning at all.)
  void note_preemption(bool preempted, bool spun) {
    if (!preempted) {
      if (spun)
        backoff_.store(backoff_.load(std::memory_order_relaxed) / 2, std::memory_order_relaxed);
      return;
    }
    const uint32_t b =
        std::min<uint32_t>(2 * backoff_.load(std::memory_order_relaxed) + 1, kMaxBackoffJobs);
    backoff_.store(b, std::memory_order_relaxed);
    spin_from_gen_.store(generation_.load(std::memory_order_relaxed) + b,
                         std::memory_order_relaxed);
  }

  // run() once the caller holds busy_. The caller waits for the helpers that checked in; with
  // wait_for_all, for every helper wanted.
  void run_owned(int64_t n_tasks, int helpers_wanted, TaskFn fn, void* ctx, bool wait_for_all) {
    grow(helpers_wanted);
    // No helper reads these now: every one that checked in to the last job has reported done,
    // and no other can check in to it (closed, or filled).
    fn_ = fn;
    ctx_ = ctx;
    const int parts = helpers_wanted + 1;
    for (int p = 0; p < parts; ++p) ranges_[p].set(n_tasks * p / parts, n_tasks * (p + 1) / parts);
    parts_ = parts;
    cancelled_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    caller_cpu_.store(current_cpu(), std::memory_order_relaxed);
    const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    join_.store(join_word(gen, helpers_wanted), std::memory_order_relaxed);
    generation_.store(gen, std::memory_order_seq_cst);  // publishes the job
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      // A worker counted itself asleep before testing generation_: either its test sees the new
      // job, or it waits on wake_ already. Taking m_ orders this notify after its test.
      std::lock_guard<std::mutex> lock(m_);
      wake_.notify_all();
    }
    work(0);
    // Every task has been taken. A helper that has not checked in would find nothing to do, so
    // the job is closed to it rather than waited for: a helper that slept 1 ms takes ~100 us to
    // wake on this project's 2-vCPU VM, longer than a whole job of a few thousand rows.
    const int expected = wait_for_all
                             ? helpers_wanted
                             : started_of(join_.fetch_or(kClosed, std::memory_order_acq_rel));
    const auto all_done = [&] { return done_.load(std::memory_order_acquire) == expected; };
    if (!spin_until(all_done, spin())) {
      std::unique_lock<std::mutex> lock(m_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      done_cv_.wait(lock, [&] { return done_.load(std::memory_order_seq_cst) == expected; });
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  void grow(int helpers) {
    if (static_cast<int>(ranges_.size()) < helpers + 1) {
      // Resized only here, while no job runs (the caller holds busy_ and has not published).
      ranges_ = std::vector<TaskRange>(static_cast<size_t>(helpers + 1));
    }
    while (static_cast<int>(threads_.size()) < helpers) {
      const int index = static_cast<int>(threads_.size());
      // Only the busy_ holder changes generation_, so this read is stable; a new worker must
      // not mistake the job that already finished for a new one.
      const uint32_t seen = generation_.load(std::memory_order_relaxed);
      threads_.emplace_back([this, index, seen] { worker_loop(index, seen); });
      workers_.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
    }
  }

  // Participant p's tasks: its own range front to back, then the others' from their backs, the
  // next participant's first. Records the first exception and skips the tasks not yet started.
  void work(int p) {
    t_inside_task = true;
    const auto run = [&](int64_t t) {
      if (cancelled_.load(std::memory_order_relaxed)) return;
      try {
        fn_(ctx_, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        if (!error_) error_ = std::current_exception();
        cancelled_.store(true, std::memory_order_relaxed);
      }
    };
    for (int64_t t; (t = ranges_[p].take_front()) >= 0;) run(t);
    for (int i = 1; i < parts_; ++i) {
      TaskRange& victim = ranges_[(p + i) % parts_];
      for (int64_t t; (t = victim.take_back()) >= 0;) run(t);
    }
    t_inside_task = false;
  }

  // The next job's generation: spins for `budget` (a job that follows soon then starts without
  // a wake-up), then sleeps on wake_.
  uint32_t wait_for_job(uint32_t seen, std::chrono::nanoseconds budget) {
    const auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published, budget)) {
      std::unique_lock<std::mutex> lock(m_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    return generation_.load(std::memory_order_acquire);
  }

  // Checks helper `index` in to job `gen`. False when that job is over or closed, or does not
  // want this helper; `wanted` says whether it did.
  bool check_in(int index, uint32_t gen, bool& wanted) {
    uint64_t w = join_.load(std::memory_order_acquire);
    wanted = gen_of(w) == gen && index < wanted_of(w);
    while (gen_of(w) == gen && (w & kClosed) == 0 && index < wanted_of(w)) {
      if (join_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  void worker_loop(int index, uint32_t seen) {
    int64_t switches = involuntary_switches();
    bool wanted = true;
    for (;;) {
      // A helper the last job did not want sleeps at once: it would spin for nothing.
      const auto budget = wanted ? spin() : std::chrono::nanoseconds(0);
      seen = wait_for_job(seen, budget);
      // On the caller's CPU this helper can only run while the caller waits: move first.
      const int caller_cpu = caller_cpu_.load(std::memory_order_relaxed);
      if (caller_cpu >= 0 && current_cpu() == caller_cpu) move_off(caller_cpu);
      if (!check_in(index, seen, wanted)) continue;
      work(index + 1);
      done_.fetch_add(1, std::memory_order_seq_cst);
      if (caller_waiting_.load(std::memory_order_seq_cst)) {
        // The caller tests done_ under m_ before it waits, so taking m_ here orders the notify
        // after that test. (It may be waiting for a later job by now: a spurious wake, harmless.)
        std::lock_guard<std::mutex> lock(m_);
        done_cv_.notify_one();
      }
      // Off the caller's path now: was this helper preempted while it spun or worked?
      const int64_t now = involuntary_switches();
      note_preemption(now != switches, budget.count() > 0);
      switches = now;
    }
  }

  static constexpr uint32_t kMaxBackoffJobs = 4096;

  std::mutex busy_;                  // held by the one user thread currently running a job
  std::mutex m_;                     // guards error_, and the sleeping on wake_ and done_cv_
  std::condition_variable wake_;     // workers asleep between jobs
  std::condition_variable done_cv_;  // the caller asleep until its helpers are done
  std::vector<std::thread> threads_;
  std::atomic<uint32_t> generation_{0};  // the last job published
  std::atomic<uint64_t> join_{0};        // see join_word
  std::atomic<int> done_{0};             // helpers of this job that have finished
  std::atomic<int> sleepers_{0};         // workers asleep on wake_ (or about to be)
  std::atomic<int> workers_{0};          // threads_.size(), readable by any thread
  std::atomic<bool> caller_waiting_{false};
  std::atomic<int> caller_cpu_{-1};         // where the caller published the last job
  double cold_ = 0, hot_ = 0;               // calibrate()
  double cross_core_ = 1e12;                // calibrate(): bytes/s a helper reads from the caller
  std::atomic<int64_t> spin_ns_{0};         // spin budget, nanoseconds
  std::atomic<uint32_t> backoff_{0};        // jobs without spinning after the last preemption
  std::atomic<uint32_t> spin_from_gen_{0};  // no spinning before this generation
  // The job, written by the caller before generation_ publishes it.
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::vector<TaskRange> ranges_;  // one per participant; ranges_.size() >= parts_
  int parts_ = 0;
  std::atomic<bool> cancelled_{false};
  std::exception_ptr error_;
};

Pool& pool() {
  // Deliberately leaked: workers sleep forever, and a static destructor joining them could run
  // before another static destructor that still calls parallel_for.
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

// The most threads one job uses (the join word counts helpers in 15 bits).
constexpr int kMaxThreads = 0x7fff;

void parallel_run(int64_t n_tasks, int max_threads, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  int threads = max_threads;
  if (threads > num_threads()) threads = num_threads();
  if (static_cast<int64_t>(threads) > n_tasks) threads = static_cast<int>(n_tasks);
  if (threads > kMaxThreads) threads = kMaxThreads;
  if (threads <= 1 || t_inside_task) {
    Pool::run_serial(n_tasks, fn, ctx);
    return;
  }
  // The pool counts tasks in 32 bits (TaskRange); more than that are run as consecutive jobs.
  constexpr int64_t kMaxJob = int64_t{1} << 31;
  if (n_tasks > kMaxJob) {
    struct Offset {
      TaskFn fn;
      void* ctx;
      int64_t base;
    };
    for (int64_t base = 0; base < n_tasks; base += kMaxJob) {
      Offset o{fn, ctx, base};
      pool().run(
          std::min(kMaxJob, n_tasks - base), threads - 1,
          [](void* c, int64_t t) {
            const Offset& off = *static_cast<const Offset*>(c);
            off.fn(off.ctx, off.base + t);
          },
          &o);
    }
    return;
  }
  pool().run(n_tasks, threads - 1, fn, ctx);
}

bool parallel_helpers_awake(int threads) {
  return pool().helpers_awake(std::min(threads, kMaxThreads) - 1);
}

PoolCosts parallel_pool_costs() {
  const Pool& p = pool();
  return {p.hot_round_trip(), p.cold_round_trip(), p.spin_budget().count() * 1e-9,
          p.cross_core_bytes_per_second()};
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 1) throw Error("set_num_threads: n must be >= 1, got " + std::to_string(n));
  detail::thread_setting().store(n, std::memory_order_relaxed);
}

int num_threads() { return detail::thread_setting().load(std::memory_order_relaxed); }

}  // namespace affine
