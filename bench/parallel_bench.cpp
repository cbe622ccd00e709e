// What one fork-join of affine's worker pool costs on this machine, the number behind every "is
// this worth a second thread" decision (tensor/src/gemm/parallel_threshold.hpp), with OpenMP's
// (libgomp) as the peer when the compiler has it.
//
//   build/bench/parallel_bench --benchmark_counters_tabular=true
//
// BM_ForkJoin/<pool>/task_us:T/idle_us:G  one parallel loop of 4 tasks of T microseconds each
//     (the thread spins on the clock) on 2 threads, timed from the call to its return. Before
//     each call the caller runs G microseconds alone, as the serial ops between two parallel
//     kernels of a training step do, while the helper waits: what waking it costs depends on
//     how long it has slept. <pool> is affine (detail::parallel_for), openmp (#pragma omp
//     parallel for, static schedule; libgomp's threads spin for a while before they sleep) or
//     serial (the 4 tasks on the caller: the time to beat, 4 T).
// Counters hot_us, cold_us, spin_us (affine rows): parallel_pool_costs(), measured once per
//     process when the pool starts: the fastest back-to-back empty fork-join, the median one
//     after the helper slept 1 ms, and how long a waiting thread spins before it sleeps. What
//     worth_threads (tensor/src/gemm/parallel_threshold.hpp) charges per fork-join.
//
// Needs 2 CPUs to mean anything; run it unpinned on an idle machine.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "affine/tensor/parallel.hpp"
#include "parallel_for.hpp"
#ifdef AFFINE_HAVE_OPENMP
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Keeps this thread busy for `us` microseconds (a task, or the caller's serial work).
void spin_for(double us) {
  const auto end = Clock::now() + std::chrono::duration<double, std::micro>(us);
  while (Clock::now() < end) {
  }
}

constexpr int kTasks = 4;
constexpr int kThreads = 2;

enum class Pool { affine, openmp, serial };

template <Pool P>
void BM_ForkJoin(benchmark::State& state) {
  const double task_us = static_cast<double>(state.range(0));
  const double idle_us = static_cast<double>(state.range(1));
  const int saved = affine::num_threads();
  affine::set_num_threads(kThreads);
  if constexpr (P == Pool::affine) {
    const affine::detail::PoolCosts costs = affine::detail::parallel_pool_costs();
    state.counters["hot_us"] = costs.hot * 1e6;
    state.counters["cold_us"] = costs.cold * 1e6;
    state.counters["spin_us"] = costs.spin * 1e6;
  }
  const auto run = [&] {
    if constexpr (P == Pool::affine) {
      affine::detail::parallel_for(kTasks, kThreads, [&](int64_t) { spin_for(task_us); });
    } else if constexpr (P == Pool::openmp) {
#ifdef AFFINE_HAVE_OPENMP
#pragma omp parallel for num_threads(kThreads) schedule(static)
      for (int t = 0; t < kTasks; ++t) spin_for(task_us);
#endif
    } else {
      for (int t = 0; t < kTasks; ++t) spin_for(task_us);
    }
  };
  run();  // starts the pool's threads
  for (auto _ : state) {
    spin_for(idle_us);
    const auto t0 = Clock::now();
    run();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  state.counters["serial_us"] = kTasks * task_us;
  affine::set_num_threads(saved);
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"task_us", "idle_us"});
  for (const int64_t task : {0, 10, 30, 100})
    for (const int64_t idle : {0, 100, 300, 2000}) b->Args({task, idle});
  // A fixed count: the idle time is not timed, so a time-based count would run a 1 us job
  // behind 2 ms of idling hundreds of thousands of times.
  b->UseManualTime()->Iterations(400)->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_ForkJoin<Pool::affine>)->Name("BM_ForkJoin/affine")->Apply(args);
#ifdef AFFINE_HAVE_OPENMP
BENCHMARK(BM_ForkJoin<Pool::openmp>)->Name("BM_ForkJoin/openmp")->Apply(args);
#endif
BENCHMARK(BM_ForkJoin<Pool::serial>)->Name("BM_ForkJoin/serial")->Apply(args);

}  // namespace

BENCHMARK_MAIN();
