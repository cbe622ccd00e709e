// Internal: affine's fork-join parallel loop, shared by GEMM and the elementwise kernels.
//
//   detail::parallel_for(n_tasks, [&](int64_t task) { ... });           // up to num_threads()
//   detail::parallel_for(n_tasks, max_threads, [&](int64_t task) { ... });
//
// Runs fn(t) for every t in [0, n_tasks) exactly once and returns when all have finished. Each
// thread owns an equal contiguous range of task indices (the caller the first) and, when its own
// are done, takes the others' from the back: the same indices go to the same thread from call to
// call (so a core reads back the rows it wrote), while a thread slowed down by a neighbour process
// still simply runs fewer tasks. Results must therefore not depend on which thread runs a task.
// The caller runs tasks too. Between calls a worker spins for a measured while (about what
// waking it would cost), then sleeps; it stops spinning for a while when the OS preempts it (the
// machine is busy), and a helper that wakes too late for a job is not waited for. A call
// allocates nothing once the pool has started. Nested calls (from inside a
// task) and calls that find the pool busy with another user thread run serially on the caller.
// The first exception thrown by a task is rethrown on the caller after every task has finished
// or been skipped.
#pragma once

#include <cstdint>

#include "affine/tensor/parallel.hpp"

namespace affine::detail {

/// Type-erased task body: fn(ctx, task).
using TaskFn = void (*)(void* ctx, int64_t task);

/// Whether the pool has `threads` - 1 helpers awake now (spinning after a recent job, or
/// working): a job then pays the hot round trip, not the cold one.
bool parallel_helpers_awake(int threads);

/// The pool's costs, in seconds, measured when it starts (~6 ms, once per process).
struct PoolCosts {
  double hot;         // fastest empty fork-join, back to back, the helper spinning in between
  double cold;        // median empty fork-join after the helper slept 1 ms
  double spin;        // how long a waiting thread spins before it sleeps
  double cross_core;  // bytes/s a helper reads of what the caller has just written
};
PoolCosts parallel_pool_costs();

/// The engine behind parallel_for: at most max_threads threads (the caller included).
void parallel_run(int64_t n_tasks, int max_threads, TaskFn fn, void* ctx);

/// Runs fn(task) for task in [0, n_tasks) on up to max_threads threads (caller included).
template <class F>
void parallel_for(int64_t n_tasks, int max_threads, const F& fn) {
  if (n_tasks <= 0) return;
  if (n_tasks == 1 || max_threads <= 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  parallel_run(
      n_tasks, max_threads, [](void* ctx, int64_t t) { (*static_cast<const F*>(ctx))(t); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

/// Runs fn(task) for task in [0, n_tasks) on up to num_threads() threads (caller included).
template <class F>
void parallel_for(int64_t n_tasks, const F& fn) {
  parallel_for(n_tasks, num_threads(), fn);
}

/// Splits [0, n) into contiguous chunks of at least `grain` elements (one per task, a few tasks
/// per thread for balance) and runs fn(begin, end) on each. One thread when n < 2 * grain.
template <class F>
void parallel_for_range(int64_t n, int64_t grain, const F& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int threads = num_threads();
  int64_t chunks = n / grain;
  if (chunks > int64_t{4} * threads) chunks = int64_t{4} * threads;
  if (chunks <= 1 || threads <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  parallel_for(chunks, threads, [&](int64_t t) { fn(n * t / chunks, n * (t + 1) / chunks); });
}

}  // namespace affine::detail
