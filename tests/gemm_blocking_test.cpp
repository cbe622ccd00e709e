// The packed GEMM under any cache blocking, the AFFINE_GEMM_BLOCKING and AFFINE_GEMM_SMALL_MAX
// overrides, and what the tuning command reports.
//
// The variables are read once per process, so tests/CMakeLists.txt runs this binary again with
// them set to good and bad values; the tests read the same variables to know what to expect. The
// DISABLED_ tests only mean something with a bad value set: those runs enable them explicitly.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "gemm/kernel.hpp"
#include "gemm/parallel_threshold.hpp"
#include "parallel_for.hpp"

namespace {

using affine::detail::gemm::active_kernels_for;
using affine::detail::gemm::Blocking;
using affine::detail::gemm::blocking_for;
using affine::detail::gemm::gemm_blocking;
using affine::detail::gemm::gemm_packed;
using affine::detail::gemm::gemm_small;
using affine::detail::gemm::small_max_work;
using affine::detail::gemm::small_side_from;

int64_t round_up(int64_t x, int64_t step) { return (x + step - 1) / step * step; }

// mc, kc, nc of a well-formed AFFINE_GEMM_BLOCKING, or nothing when it is unset.
std::optional<std::array<int64_t, 3>> requested_blocking() {
  const char* env = std::getenv("AFFINE_GEMM_BLOCKING");
  if (env == nullptr || *env == '\0') return std::nullopt;
  long long v[3];
  char tail = 0;
  if (std::sscanf(env, "%lld,%lld,%lld%c", &v[0], &v[1], &v[2], &tail) != 3) return std::nullopt;
  return std::array<int64_t, 3>{v[0], v[1], v[2]};
}

struct ThreadGuard {
  int saved = affine::num_threads();
  ~ThreadGuard() { affine::set_num_threads(saved); }
};

// One product C = alpha op(A) op(B) + beta C with A and B as stored row-major matrices (each
// possibly transposed through its strides), checked against a float64 sum.
template <class T>
struct Product {
  int64_t m, n, k;
  bool ta, tb;
  std::vector<T> a, b, c0;

  Product(int64_t m_, int64_t n_, int64_t k_, bool ta_, bool tb_, uint32_t seed)
      : m(m_), n(n_), k(k_), ta(ta_), tb(tb_) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    const auto fill = [&](std::vector<T>& v, int64_t size) {
      v.resize(static_cast<size_t>(size));
      for (T& x : v) x = T(uni(rng));
    };
    fill(a, m * k);
    fill(b, k * n);
    fill(c0, m * n);
  }
  // Strides of op(A) and op(B): stored A is m x k (or k x m when transposed).
  int64_t rs_a() const { return ta ? 1 : k; }
  int64_t cs_a() const { return ta ? m : 1; }
  int64_t rs_b() const { return tb ? 1 : n; }
  int64_t cs_b() const { return tb ? k : 1; }
  T op_a(int64_t i, int64_t p) const { return a[static_cast<size_t>(i * rs_a() + p * cs_a())]; }
  T op_b(int64_t p, int64_t j) const { return b[static_cast<size_t>(p * rs_b() + j * cs_b())]; }

  std::vector<T> run(const Blocking& blk, T alpha, T beta) const {
    std::vector<T> c = c0;
    gemm_packed<T>(blk, m, n, k, alpha, a.data(), rs_a(), cs_a(), b.data(), rs_b(), cs_b(), beta,
                   c.data(), n, 1);
    return c;
  }

  // |C - Cref| <= 16 eps (|alpha| sum |a b| + |beta c|) for every element; "" when it holds.
  std::string check(const std::vector<T>& c, double alpha, double beta) const {
    const double eps = std::numeric_limits<T>::epsilon();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double ref = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double x = double(op_a(i, p)) * double(op_b(p, j));
          ref += x;
          mag += std::fabs(x);
        }
        const double cij = c0[static_cast<size_t>(i * n + j)];
        ref = alpha * ref + beta * cij;
        mag = std::fabs(alpha) * mag + std::fabs(beta * cij);
        const double got = c[static_cast<size_t>(i * n + j)];
        if (!(std::fabs(got - ref) <= 16 * eps * mag))
          return "C(" + std::to_string(i) + ", " + std::to_string(j) +
                 ") = " + std::to_string(got) + ", expected " + std::to_string(ref);
      }
    }
    return "";
  }
};

std::string describe(const Blocking& blk, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "blocking mc=%lld kc=%lld nc=%lld (mr=%lld nr=%lld), %s%s %lldx%lldx%lld",
                static_cast<long long>(blk.mc), static_cast<long long>(blk.kc),
                static_cast<long long>(blk.nc), static_cast<long long>(blk.mr),
                static_cast<long long>(blk.nr), ta ? "t" : "n", tb ? "t" : "n",
                static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k));
  return buf;
}

// Edge sizes around the register tile and several k slices, every transpose, under blockings
// from the smallest legal one (mc = mr, kc = 1, nc = nr) to the active one; 2 and 3 threads must
// give the 1-thread bits.
template <class T>
void odd_blockings_match_reference() {
  ThreadGuard guard;
  const Blocking active = gemm_blocking<T>();
  const int64_t mr = active.mr, nr = active.nr;
  const Blocking blockings[] = {{mr, nr, 1, mr, nr},
                                {mr, nr, 2, mr, 2 * nr},
                                {mr, nr, 3, 2 * mr, nr},
                                {mr, nr, 5, 3 * mr, 3 * nr},
                                active};
  uint32_t seed = 7;
  int count = 0;
  for (const Blocking& blk : blockings) {
    for (const int64_t m : {int64_t{1}, mr - 1, mr + 1, 2 * mr + 3}) {
      for (const int64_t n : {int64_t{1}, nr - 1, nr + 1, 2 * nr + 3}) {
        for (const int64_t k : {int64_t{1}, int64_t{4}, int64_t{11}}) {
          const bool ta = count & 1, tb = count & 2;
          const double alpha = count % 3 == 0 ? 1.0 : -0.7, beta = (count % 3) * 0.5;
          ++count;
          const Product<T> p(m, n, k, ta, tb, ++seed);
          affine::set_num_threads(1);
          const std::vector<T> c = p.run(blk, T(alpha), T(beta));
          const std::string err = p.check(c, alpha, beta);
          ASSERT_EQ(err, "") << describe(blk, m, n, k, ta, tb);
          for (const int threads : {2, 3}) {
            affine::set_num_threads(threads);
            const std::vector<T> ct = p.run(blk, T(alpha), T(beta));
            ASSERT_EQ(0, std::memcmp(c.data(), ct.data(), c.size() * sizeof(T)))
                << describe(blk, m, n, k, ta, tb) << ": " << threads << " threads differ";
          }
        }
      }
    }
  }
}

template <class T>
void active_blocking_follows_environment() {
  const Blocking derived = blocking_for<T>(active_kernels_for<T>());
  const Blocking& got = gemm_blocking<T>();
  EXPECT_EQ(got.mr, derived.mr);
  EXPECT_EQ(got.nr, derived.nr);
  if (const auto r = requested_blocking()) {
    EXPECT_EQ(got.mc, round_up((*r)[0], got.mr));
    EXPECT_EQ(got.kc, (*r)[1]);
    EXPECT_EQ(got.nc, round_up((*r)[2], got.nr));
  } else {
    EXPECT_EQ(got.mc, derived.mc);
    EXPECT_EQ(got.kc, derived.kc);
    EXPECT_EQ(got.nc, derived.nc);
  }
}

// A cube with B transposed, just past the small-problem path's limit, so the public gemm takes
// the packed path with the active blocking.
template <class T>
void public_gemm_uses_active_blocking() {
  const int64_t s = 1 + std::llround(std::cbrt(double(small_max_work<T>(true))));
  const Product<T> p(s, s, s, false, true, 99);
  std::vector<T> c = p.c0;
  affine::gemm(affine::Trans::no, affine::Trans::yes, s, s, s, T(1), p.a.data(), s, p.b.data(), s,
               T(0.5), c.data(), s);
  EXPECT_EQ(p.check(c, 1.0, 0.5), "");
  const std::vector<T> packed = p.run(gemm_blocking<T>(), T(1), T(0.5));
  size_t first = 0;
  while (first < c.size() && c[first] == packed[first]) ++first;
  EXPECT_EQ(first, c.size()) << sizeof(T) * 8 << "-bit " << s << "^3 nt: public " << c[first]
                             << " vs packed " << packed[first];
}

// A C stored by columns keeps the small path's smaller limit (its stores would be scalar): a cube
// with B by rows just past that limit takes the packed path too. Like the test above, it tells
// the paths apart under the ctest run with AFFINE_GEMM_BLOCKING=37,77,50 (kc < k).
template <class T>
void column_major_c_keeps_the_smaller_limit() {
  const int64_t s = 1 + std::llround(std::cbrt(double(small_max_work<T>(false))));
  const Product<T> p(s, s, s, false, false, 7);
  std::vector<T> c(p.c0.size(), T(0)), packed(p.c0.size(), T(0));
  affine::gemm_strided(s, s, s, T(1), p.a.data(), s, 1, p.b.data(), s, 1, T(0), c.data(), 1, s);
  gemm_packed<T>(gemm_blocking<T>(), s, s, s, T(1), p.a.data(), s, 1, p.b.data(), s, 1, T(0),
                 packed.data(), 1, s);
  size_t first = 0;
  while (first < c.size() && c[first] == packed[first]) ++first;
  EXPECT_EQ(first, c.size()) << sizeof(T) * 8 << "-bit " << s << "^3, C by columns: public "
                             << c[first] << " vs packed " << packed[first];
}

}  // namespace

TEST(GemmBlocking, ColumnMajorCKeepsTheSmallerLimit) {
  column_major_c_keeps_the_smaller_limit<float>();
  column_major_c_keeps_the_smaller_limit<double>();
}

TEST(GemmBlocking, ActiveBlockingFollowsTheEnvironment) {
  active_blocking_follows_environment<float>();
  active_blocking_follows_environment<double>();
}

TEST(GemmBlocking, FloatOddBlockingsMatchReference) { odd_blockings_match_reference<float>(); }
TEST(GemmBlocking, DoubleOddBlockingsMatchReference) { odd_blockings_match_reference<double>(); }

TEST(GemmBlocking, PublicGemmUsesActiveBlocking) {
  public_gemm_uses_active_blocking<float>();
  public_gemm_uses_active_blocking<double>();
}

// The small path's limit: the cube whose B takes a quarter of L2 unless AFFINE_GEMM_SMALL_MAX
// names the float32 side (float64: the cube whose B has as many bytes). gemm_small's answer shows
// which path a product takes: it runs the cube at the limit and declines the next one.
namespace {

template <class T>
void small_limit_follows_environment() {
  const char* env = std::getenv("AFFINE_GEMM_SMALL_MAX");
  const double bytes = env != nullptr && *env != '\0'
                           ? std::pow(double(std::atoll(env)), 2) * sizeof(float)
                           : double(affine::detail::cache_sizes().l2) / 4;
  const auto side = static_cast<int64_t>(std::sqrt(bytes / sizeof(T)));
  EXPECT_EQ(small_max_work<T>(true), side * side * side) << sizeof(T) * 8 << "-bit";
  EXPECT_LE(small_max_work<T>(false), small_max_work<T>(true)) << sizeof(T) * 8 << "-bit";
  for (const int64_t s : {side, side + 1}) {
    std::vector<T> a(static_cast<size_t>(s * s), T(1)), c(static_cast<size_t>(s * s), T(0));
    const bool taken =
        gemm_small<T>(s, s, s, T(1), a.data(), s, 1, a.data(), s, 1, T(0), c.data(), s, 1);
    EXPECT_EQ(taken, s == side) << sizeof(T) * 8 << "-bit " << s << "^3 (limit " << side << "^3)";
    if (taken) {
      EXPECT_EQ(c[static_cast<size_t>(s * s - 1)], T(s)) << sizeof(T) * 8 << "-bit";
    }
  }
}

}  // namespace

TEST(GemmSmallLimit, FollowsTheEnvironment) {
  small_limit_follows_environment<float>();
  small_limit_follows_environment<double>();
}

// Run by ctest with a malformed AFFINE_GEMM_SMALL_MAX: every product that consults the limit
// raises, naming the variable and the value, and keeps raising.
TEST(GemmSmallLimit, DISABLED_BadValueRaisesNamingIt) {
  const char* env = std::getenv("AFFINE_GEMM_SMALL_MAX");
  ASSERT_NE(env, nullptr) << "run with a bad AFFINE_GEMM_SMALL_MAX (tests/CMakeLists.txt)";
  const std::string want = std::string("AFFINE_GEMM_SMALL_MAX=\"") + env + "\"";
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      (void)small_max_work<float>(true);
      ADD_FAILURE() << "small_max_work accepted AFFINE_GEMM_SMALL_MAX=" << env;
    } catch (const affine::Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
  std::vector<double> a(64, 1.0), c(64, 0.0);
  EXPECT_THROW(affine::gemm(affine::Trans::no, affine::Trans::no, 8, 8, 8, 1.0, a.data(), 8,
                            a.data(), 8, 0.0, c.data(), 8),
               affine::Error);
}

// The side gemm_tune reports is where the summed log speed-up peaks: one side lost by noise
// amid wins does not stop it, a run of losses does, and a path that never gains keeps the first.
TEST(GemmSmallLimit, TunedSideIsWhereTheGainPeaks) {
  using T = affine::GemmSmallTiming;
  EXPECT_EQ(small_side_from({}), 0);
  EXPECT_EQ(small_side_from({{64, 9, 10}, {128, 9, 10}}), 64);
  EXPECT_EQ(small_side_from({{64, 10, 10}, {128, 11, 10}, {192, 9.1, 10}}), 128);
  EXPECT_EQ(small_side_from(std::vector<T>{{64, 9.8, 10},
                                           {128, 11, 10},
                                           {192, 10.6, 10},
                                           {256, 9.9, 10},
                                           {320, 10.5, 10},
                                           {384, 9.5, 10},
                                           {512, 8, 10}}),
            320);
}

// Run by ctest with a malformed AFFINE_GEMM_BLOCKING: every packed GEMM raises, naming the
// variable and the value, and keeps raising (nothing runs with a blocking nobody asked for).
TEST(GemmBlocking, DISABLED_BadValueRaisesNamingIt) {
  const char* env = std::getenv("AFFINE_GEMM_BLOCKING");
  ASSERT_NE(env, nullptr) << "run with a bad AFFINE_GEMM_BLOCKING (tests/CMakeLists.txt)";
  const std::string want = std::string("AFFINE_GEMM_BLOCKING=\"") + env + "\"";
  for (int attempt = 0; attempt < 2; ++attempt) {  // read once, but never accepted later
    try {
      (void)gemm_blocking<float>();
      ADD_FAILURE() << "gemm_blocking accepted AFFINE_GEMM_BLOCKING=" << env;
    } catch (const affine::Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
  const int64_t s = 1 + std::llround(std::cbrt(double(small_max_work<double>(true))));
  std::vector<double> a(s * s, 1.0), c(s * s, 0.0);
  EXPECT_THROW(affine::gemm(affine::Trans::no, affine::Trans::yes, s, s, s, 1.0, a.data(), s,
                            a.data(), s, 0.0, c.data(), s),
               affine::Error);
}

// The tuning command only reports; a budget it cannot honour is refused up front. (Its timing
// run is not a unit test: it takes seconds by design.)
TEST(GemmBlocking, TuneRefusesABadBudget) {
  for (const double budget : {0.0, -1.0, 601.0, std::nan("")}) {
    try {
      (void)affine::gemm_tune(budget);
      ADD_FAILURE() << "gemm_tune accepted budget " << budget;
    } catch (const affine::Error& e) {
      EXPECT_NE(std::string(e.what()).find("gemm_tune: budget_seconds"), std::string::npos)
          << e.what();
    }
  }
}

// The thread thresholds come from two measurements of this machine (parallel_threshold.hpp): they
// must be physically sensible numbers, and the split must cost more the more often it syncs.
TEST(GemmParallelThreshold, MeasuredOnThisMachine) {
  namespace gemm = affine::detail::gemm;
  const double rate_f = gemm::multiply_add_rate<float>();
  const double rate_d = gemm::multiply_add_rate<double>();
  EXPECT_GT(rate_f, 1e7);  // slower than 10 M multiply-adds per second: the timing is broken
  EXPECT_LT(rate_f, 1e13);
  EXPECT_GT(rate_d, 1e7);
  EXPECT_LT(rate_d, 1e13);

  ThreadGuard guard;
  affine::set_num_threads(2);
  const affine::detail::PoolCosts costs = affine::detail::parallel_pool_costs();
  EXPECT_GT(costs.hot, 0.0);
  EXPECT_LE(costs.hot, costs.cold);
  EXPECT_LT(costs.cold, 0.1);
  // The rule at either round trip: a job at the threshold saves twice the fork-joins it pays (the
  // header's rule), in seconds; the threshold is that work rounded up to whole multiply-adds, each
  // saving 0.5 / rate_f on 2 threads. (A CI run once saw the two sides 0.09% apart for a reason
  // not found; 1% still catches a wrong factor in the rule, and the message has every input.)
  for (const double trip : {costs.hot, costs.cold}) {
    const int64_t one = gemm::parallel_min_work_at<float>(trip, 2);
    EXPECT_GT(one, 0);
    const double saved_at_threshold = double(one) * 0.5 / rate_f;
    EXPECT_NEAR(saved_at_threshold, 2.0 * trip, 1e-2 * trip + 0.5 / rate_f)
        << "one = " << one << ", rate_f = " << rate_f << ", trip = " << trip;
  }
  // A job that forks and joins 4 times pays 4 round trips: below 4 hot ones it stays on one
  // thread, from 4 cold ones it splits, whether or not the helper is awake.
  EXPECT_FALSE(
      gemm::worth_threads<float>(gemm::parallel_min_work_at<float>(4 * costs.hot, 2) - 1, 4));
  EXPECT_TRUE(gemm::worth_threads<float>(gemm::parallel_min_work_at<float>(4 * costs.cold, 2), 4));
}

// Handing a helper operands from the caller's caches is paid for too, at the measured cross-core
// speed and for at most the caller's L2: a job that saves twice its round trip plus that move is
// worth a second thread (awake or not), one that saves less is not.
TEST(GemmParallelThreshold, MovingOperandsAcrossCoresIsPaidFor) {
  namespace gemm = affine::detail::gemm;
  ThreadGuard guard;
  affine::set_num_threads(2);
  const affine::detail::PoolCosts costs = affine::detail::parallel_pool_costs();
  EXPECT_GT(costs.cross_core, 1e8);  // slower than 100 MB/s: the measurement is broken
  EXPECT_LT(costs.cross_core, 1e13);
  const double l2 = double(affine::detail::cache_sizes().l2);
  const double moved = l2 / costs.cross_core;
  const int64_t shared = static_cast<int64_t>(l2 / sizeof(float)) * 4;  // more than L2: capped
  const int64_t enough = gemm::parallel_min_work_at<float>(costs.cold + moved, 2) + 1;
  const int64_t too_little = gemm::parallel_min_work_at<float>(costs.hot + moved, 2) * 99 / 100;
  EXPECT_TRUE(gemm::worth_threads<float>(enough, 1, 0, shared)) << "moved " << moved << " s";
  EXPECT_FALSE(gemm::worth_threads<float>(too_little, 1, 0, shared)) << "moved " << moved << " s";
  // The same job with nothing to move: worth it even at the cold round trip, when it saves that.
  if (too_little >= gemm::parallel_min_work_at<float>(costs.cold, 2)) {
    EXPECT_TRUE(gemm::worth_threads<float>(too_little, 1));
  }
}

// worth_threads applies the rule at the hot round trip while the helper is awake, at the cold one
// while it sleeps, except that a job worth it only when hot wakes the helper when it follows
// another closely (a stream) rather than alone.
TEST(GemmParallelThreshold, ASleepingHelperIsWokenForAStreamNotForOneJob) {
  namespace gemm = affine::detail::gemm;
  ThreadGuard guard;
  affine::set_num_threads(2);
  const affine::detail::PoolCosts costs = affine::detail::parallel_pool_costs();
  const int64_t hot_min = gemm::parallel_min_work_at<float>(costs.hot, 2);
  const int64_t cold_min = gemm::parallel_min_work_at<float>(costs.cold, 2);
  EXPECT_FALSE(gemm::worth_threads<float>(hot_min - 1, 1));
  EXPECT_TRUE(gemm::worth_threads<float>(cold_min, 1));
  if (cold_min <= hot_min + 1) GTEST_SKIP() << "no job is worth it only when hot: " << hot_min;
  const int64_t mid = (hot_min + cold_min) / 2;
  // Long enough for the helper to have stopped spinning and for any stream to have ended.
  const double stream_s = costs.spin + double(cold_min) / gemm::multiply_add_rate<float>();
  std::this_thread::sleep_for(std::chrono::duration<double>(2 * stream_s + 0.01));
  // On a loaded machine the helper may wait for a core before it sees its spin run out.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (affine::detail::parallel_helpers_awake(2) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_FALSE(affine::detail::parallel_helpers_awake(2)) << "spin budget " << costs.spin << " s";
  EXPECT_FALSE(gemm::worth_threads<float>(mid, 1)) << "a lone job woke the helper";
  EXPECT_TRUE(gemm::worth_threads<float>(mid, 1)) << "the second of a stream did not";
}
