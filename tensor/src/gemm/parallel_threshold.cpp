// When a GEMM-family job is worth splitting across threads, from two measurements of the machine
// it runs on (kernel.hpp, worth_threads): what the micro-kernel does per second and what a
// fork-join of the pool costs. Earlier versions used a constant measured on one CPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "kernel.hpp"
#include "parallel_for.hpp"
#include "parallel_threshold.hpp"

namespace affine::detail::gemm {
namespace {

template <class T>
double measure_multiply_add_rate() {
  const Kernels<T>& kern = active_kernels_for<T>();
  // Panels small enough for L1 (kc * (mr + nr) elements), run back to back as loop 1 would; the
  // values stay near 1 so no denormal or overflow slows a batch down.
  constexpr int64_t kc = 128;
  constexpr int kCalls = 32, kBatches = 5;
  std::vector<T> a(static_cast<size_t>(kern.mr * kc), T(0.5)),
      b(static_cast<size_t>(kern.nr * kc), T(1.0 / kc)), c(static_cast<size_t>(kern.mr * kern.nr));
  double best = 1e300;
  for (int batch = 0; batch < kBatches; ++batch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i)
      kern.micro(kc, T(1), a.data(), b.data(), T(0), c.data(), kern.nr, 1, kern.mr, kern.nr);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double madds = double(kCalls) * double(kern.mr) * double(kern.nr) * double(kc);
  return best > 0 ? madds / best : 1e12;  // a clock too coarse to see it: call it very fast
}

}  // namespace

template <class T>
double multiply_add_rate() {
  static const double rate = measure_multiply_add_rate<T>();
  return rate;
}
template double multiply_add_rate<float>();
template double multiply_add_rate<double>();

template <class T>
int64_t parallel_min_work_at(double paid, int threads) {
  const double saved_per_madd = (1.0 - 1.0 / threads) / multiply_add_rate<T>();
  const double work = 2.0 * paid / saved_per_madd;
  return work >= 9e18 ? INT64_MAX : static_cast<int64_t>(std::ceil(work));
}
template int64_t parallel_min_work_at<float>(double, int);
template int64_t parallel_min_work_at<double>(double, int);

template <class T>
bool worth_threads(int64_t work, int64_t syncs, int64_t split_elems, int64_t shared_elems) {
  const int t = num_threads();
  if (t <= 1) return false;
  // The hot threshold with nothing to move bounds every answer from below, and depends only on
  // syncs and the thread count, so each thread keeps its last one: the small path asks on every
  // call (syncs = 1), and its smallest calls take ~20 ns, of which the arithmetic took 8 (three
  // divisions and a libm ceil).
  thread_local int cached_threads = 0;
  thread_local int64_t cached_syncs = -1, hot_min = 0;
  if (t != cached_threads || syncs != cached_syncs) {
    hot_min = parallel_min_work_at<T>(double(syncs) * parallel_pool_costs().hot, t);
    cached_threads = t;
    cached_syncs = syncs;
  }
  if (work < hot_min) return false;
  // The operands a helper reads from the caller's caches: its share of the split ones, all of
  // the shared ones. On a VM whose cores read each other's caches at a third of their own speed
  // this decided the mid-size splits: LU and Cholesky at n = 256 on 2 threads ran 24-31% slower
  // with their small trailing updates split on the round trip alone.
  const PoolCosts costs = parallel_pool_costs();
  // At most what the caller's L2 holds crosses over: beyond that the operands come from memory,
  // for the caller as much as for a helper.
  const double bytes =
      std::min((double(split_elems) * (1.0 - 1.0 / t) + double(shared_elems)) * sizeof(T),
               double(cache_sizes().l2));
  const double moved = bytes / costs.cross_core;
  // (With nothing to move, the hot threshold is hot_min, already passed.)
  if (moved > 0 && work < parallel_min_work_at<T>(double(syncs) * costs.hot + moved, t))
    return false;
  if (work >= parallel_min_work_at<T>(double(syncs) * costs.cold + moved, t) ||
      parallel_helpers_awake(t))
    return true;
  // Worth it with awake helpers, not with sleeping ones. Waking one for a lone job costs more
  // than it saves, but a training step asks for such jobs one after another, and once awake the
  // helpers stay so between them. So a job turned down here opens a window, and the next such job
  // within it wakes the helpers: the window is the job's least possible length (work / r) plus
  // the spin budget, the gap across which a woken helper would still be awake for the next one.
  thread_local std::chrono::steady_clock::time_point stream_until{};
  const auto now = std::chrono::steady_clock::now();
  const bool stream = now < stream_until;
  const double window = double(work) / multiply_add_rate<T>() + costs.spin;
  stream_until = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(window));
  return stream;
}
template bool worth_threads<float>(int64_t, int64_t, int64_t, int64_t);
template bool worth_threads<double>(int64_t, int64_t, int64_t, int64_t);

}  // namespace affine::detail::gemm
