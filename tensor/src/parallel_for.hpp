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
// The caller runs tasks too. Workers sleep on a condition variable between calls (they never
// spin), and a call allocates nothing once the pool has started. Nested calls (from inside a
// task) and calls that find the pool busy with another user thread run serially on the caller.
// The first exception thrown by a task is rethrown on the caller after every task has finished
// or been skipped.
#pragma once

#include <cstdint>

#include "affine/tensor/parallel.hpp"

namespace affine::detail {

/// Type-erased task body: fn(ctx, task).
using TaskFn = void (*)(void* ctx, int64_t task);

/// What one fork-join of the pool costs on this machine, in seconds: the fastest of a few empty
/// two-thread jobs, measured on the first call and kept for the process (~50 us once). 0 when it
/// cannot be measured now (called from inside a task, or while another user thread holds the
/// pool); such callers run serially anyway, and a later call measures.
double parallel_round_trip_seconds();

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
