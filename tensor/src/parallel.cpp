// The thread-count setting and the worker pool behind detail::parallel_for.
//
// Design: one process-wide pool of sleeping workers, grown on demand up to the largest thread
// count ever asked for. A call publishes one job (function pointer, context, task count) under a
// mutex, bumps a generation counter and wakes the workers it wants; the caller then sleeps until
// the helpers report back. Nobody spins: on a shared 2-core machine a spinning worker steals the
// core a neighbour (or our own caller) needs, which is how OpenMP-based peers collapse under
// contention.
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
#include <string>
#include <thread>
#include <vector>

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

class Pool {
 public:
  // Runs the job with the caller plus up to helpers_wanted workers.
  void run(int64_t n_tasks, int helpers_wanted, TaskFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another user thread is using the pool: do our share alone
      run_serial(n_tasks, fn, ctx);
      return;
    }
    run_owned(n_tasks, helpers_wanted, fn, ctx);
  }

  // One fork-join of an empty job with one helper, in seconds; < 0 when another user thread holds
  // the pool (the sample would measure nothing).
  double round_trip_sample() {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return -1;
    const auto t0 = std::chrono::steady_clock::now();
    run_owned(
        2, 1, [](void*, int64_t) {}, nullptr);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

 private:
  // run() once the caller holds busy_.
  void run_owned(int64_t n_tasks, int helpers_wanted, TaskFn fn, void* ctx) {
    grow(helpers_wanted);
    {
      std::lock_guard<std::mutex> lock(m_);
      fn_ = fn;
      ctx_ = ctx;
      const int parts = helpers_wanted + 1;
      for (int p = 0; p < parts; ++p)
        ranges_[p].set(n_tasks * p / parts, n_tasks * (p + 1) / parts);
      parts_ = parts;
      cancelled_.store(false, std::memory_order_relaxed);
      helpers_ = helpers_wanted;
      helpers_done_ = 0;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return helpers_done_ == helpers_; });
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
      const uint64_t seen = generation_;
      threads_.emplace_back([this, index, seen] { worker_loop(index, seen); });
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

  void worker_loop(int index, uint64_t seen) {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (index >= helpers_) continue;  // not needed for this job
      lock.unlock();
      work(index + 1);
      lock.lock();
      if (++helpers_done_ == helpers_) done_.notify_one();
    }
  }

  std::mutex busy_;  // held by the one user thread currently running a job
  std::mutex m_;     // guards everything below except next_
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> threads_;
  uint64_t generation_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::vector<TaskRange> ranges_;  // one per participant; ranges_.size() >= parts_
  int parts_ = 0;
  std::atomic<bool> cancelled_{false};
  int helpers_ = 0;
  int helpers_done_ = 0;
  std::exception_ptr error_;
};

Pool& pool() {
  // Deliberately leaked: workers sleep forever, and a static destructor joining them could run
  // before another static destructor that still calls parallel_for.
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void parallel_run(int64_t n_tasks, int max_threads, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  int threads = max_threads;
  if (threads > num_threads()) threads = num_threads();
  if (static_cast<int64_t>(threads) > n_tasks) threads = static_cast<int>(n_tasks);
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

double parallel_round_trip_seconds() {
  // The fastest of a few samples within ~2 ms: the hardware's and the OS's cost, not a passing
  // burst of load from a neighbour (which would otherwise pin this process's choice for good).
  static std::atomic<double> cached{0.0};
  if (const double c = cached.load(std::memory_order_relaxed); c > 0) return c;
  if (t_inside_task) return 0.0;  // nested: runs serially whatever the threshold says
  double best = -1;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) {
    const double s = pool().round_trip_sample();
    if (s < 0) return 0.0;  // pool busy: this caller runs serially anyway; measure next time
    if (i >= 2 && (best < 0 || s < best)) best = s;  // the first two start the thread
    if (i >= 8 && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(2)) break;
  }
  cached.store(best, std::memory_order_relaxed);
  return best;
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 1) throw Error("set_num_threads: n must be >= 1, got " + std::to_string(n));
  detail::thread_setting().store(n, std::memory_order_relaxed);
}

int num_threads() { return detail::thread_setting().load(std::memory_order_relaxed); }

}  // namespace affine
