// When a GEMM-family job is worth splitting across threads, from two measurements of the machine
// it runs on (kernel.hpp, parallel_min_work): what the micro-kernel does per second and what a
// fork-join of the pool costs. Earlier versions used a constant measured on one CPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "affine/tensor/parallel.hpp"
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
int64_t parallel_min_work(int64_t syncs) {
  // The answer depends only on syncs and the thread count, so each thread keeps its last one:
  // the small path asks on every call (syncs = 1), and its smallest calls take ~20 ns, of which
  // this took 8 (three divisions and a libm ceil).
  thread_local int cached_threads = 0;
  thread_local int64_t cached_syncs = -1, cached_work = 0;
  const int t = std::max(2, num_threads());
  if (t == cached_threads && syncs == cached_syncs) return cached_work;
  // A round trip of 0 means "not measured yet" (asked from inside a task, or while the pool was
  // busy): the answer 0 is right for this call, which runs serially anyway, but must not be kept.
  const double trip = parallel_round_trip_seconds();
  const double paid = double(syncs) * trip;
  const double saved_per_madd = (1.0 - 1.0 / t) / multiply_add_rate<T>();
  const double work = 2.0 * paid / saved_per_madd;
  const int64_t answer = work >= 9e18 ? INT64_MAX : static_cast<int64_t>(std::ceil(work));
  if (trip > 0) {
    cached_work = answer;
    cached_threads = t;
    cached_syncs = syncs;
  }
  return answer;
}
template int64_t parallel_min_work<float>(int64_t);
template int64_t parallel_min_work<double>(int64_t);

}  // namespace affine::detail::gemm
