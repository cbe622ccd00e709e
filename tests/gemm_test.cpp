// GEMM tests in the spirit of the reference BLAS test drivers: a grid of sizes around every
// blocking edge, all transpose combinations, padded leading dimensions guarded by NaN sentinels,
// several alpha/beta, 1-3 threads, against a float64 triple loop written here.
//
// ctest re-runs this binary with AFFINE_ISA=avx512|avx2|generic; the active ISA is printed first.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "gemm/kernel.hpp"

namespace {

using affine::Trans;

constexpr int64_t kSizes[] = {0, 1, 2, 3, 5, 7, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129};
constexpr double kAlphas[] = {0.0, 1.0, 0.7, -1.3};
constexpr double kBetas[] = {0.0, 1.0, 1.3};

// Restores the thread count when a test ends, whatever it set.
struct ThreadGuard {
  int saved = affine::num_threads();
  ~ThreadGuard() { affine::set_num_threads(saved); }
};

template <class T>
T nan_v() {
  return std::numeric_limits<T>::quiet_NaN();
}

// A row-major matrix stored with a leading dimension (row stride) >= its width; the padding
// holds NaN sentinels that gemm must neither read (NaN would leak) nor write.
template <class T>
struct Stored {
  int64_t rows = 0, cols = 0, ld = 1;
  std::vector<T> data;

  Stored(int64_t r, int64_t c, int64_t pad) : rows(r), cols(c), ld(std::max<int64_t>(1, c) + pad) {
    data.assign(static_cast<size_t>(std::max<int64_t>(1, r * ld)), nan_v<T>());
  }
  T& at(int64_t i, int64_t j) { return data[static_cast<size_t>(i * ld + j)]; }
  T at(int64_t i, int64_t j) const { return data[static_cast<size_t>(i * ld + j)]; }
  template <class Gen>
  void fill(Gen&& gen) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) at(i, j) = gen();
  }
  bool padding_untouched() const {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = cols; j < ld; ++j)
        if (!std::isnan(at(i, j))) return false;
    return true;
  }
};

// op(A)(i, p) for a stored A.
template <class T>
T op_at(const Stored<T>& s, Trans t, int64_t i, int64_t p) {
  return t == Trans::no ? s.at(i, p) : s.at(p, i);
}

// Test data from a 64-bit LCG: uniform values in [-1, 1) (53 random bits) and small integers.
// Under the sanitizers std::mt19937 with std::uniform_real_distribution took 15% of this suite.
struct TestRng {
  uint64_t state;
  explicit TestRng(uint32_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next53() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 11;
  }
  double uniform() { return static_cast<double>(next53()) * 0x1p-52 - 1.0; }
  int integer(int lo, int hi) { return lo + static_cast<int>(next53() % uint64_t(hi - lo + 1)); }
};

// Rows of op(S) (of_transpose: of op(S)^T), `depth` values each, converted to float64 and stored
// contiguously, with their magnitudes: the oracle's inner loop then walks two plain arrays. The
// sums are those of the element-wise loop (|x y| == |x| |y| exactly), in the same order.
template <class T>
void oracle_rows(const Stored<T>& s, Trans t, bool of_transpose, int64_t rows, int64_t depth,
                 std::vector<double>& value, std::vector<double>& magnitude) {
  value.resize(static_cast<size_t>(rows * depth));
  magnitude.resize(value.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < depth; ++p) {
      const double x = of_transpose ? op_at(s, t, p, r) : op_at(s, t, r, p);
      value[static_cast<size_t>(r * depth + p)] = x;
      magnitude[static_cast<size_t>(r * depth + p)] = std::fabs(x);
    }
  }
}

// The oracle's inner loop: sum_p x[p] y[p] and sum_p |x[p]| |y[p]|, in order. It reads only the
// arrays oracle_rows built, so the sanitizers have nothing to check here; instrumented, it was half
// of this suite's run under them.
#if defined(__GNUC__)
__attribute__((no_sanitize("address", "undefined")))
#endif
void oracle_dot(const double* x, const double* y, const double* x_mag, const double* y_mag,
                int64_t depth, double& ref, double& mag) {
  double sum = 0, sum_mag = 0;
  for (int64_t p = 0; p < depth; ++p) {
    sum += x[p] * y[p];
    sum_mag += x_mag[p] * y_mag[p];
  }
  ref = sum;
  mag = sum_mag;
}

struct Case {
  Trans ta = Trans::no, tb = Trans::no;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  int64_t pad = 0;
  int threads = 1;
  bool integers = false;  // small integers: results must be exact
};

std::string describe(const Case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s%s m=%lld n=%lld k=%lld alpha=%g beta=%g pad=%lld threads=%d",
                c.ta == Trans::yes ? "t" : "n", c.tb == Trans::yes ? "t" : "n",
                static_cast<long long>(c.m), static_cast<long long>(c.n),
                static_cast<long long>(c.k), c.alpha, c.beta, static_cast<long long>(c.pad),
                c.threads);
  return buf;
}

// A case of shape m x n x k with transposes from the bits of t (1: A, 2: B).
Case shaped(int t, int64_t m, int64_t n, int64_t k) {
  Case c;
  c.ta = (t & 1) ? Trans::yes : Trans::no;
  c.tb = (t & 2) ? Trans::yes : Trans::no;
  c.m = m;
  c.n = n;
  c.k = k;
  return c;
}

// Runs one case; returns C (for cross-thread comparisons). Checks every element against the
// float64 oracle with |C - Cref| <= 16 eps (|alpha| sum|a||b| + |beta||c|), and the sentinels.
// check_oracle = false skips the float64 oracle (the caller compares bits with a checked run).
template <class T>
std::vector<T> run_case(const Case& c, uint32_t seed, bool check_oracle = true) {
  TestRng rng(seed);
  auto gen = [&]() -> T { return c.integers ? T(rng.integer(-4, 4)) : T(rng.uniform()); };

  const bool at = c.ta == Trans::yes, bt = c.tb == Trans::yes;
  Stored<T> a(at ? c.k : c.m, at ? c.m : c.k, c.pad);
  Stored<T> b(bt ? c.n : c.k, bt ? c.k : c.n, c.pad);
  Stored<T> cm(c.m, c.n, c.pad);
  a.fill(gen);
  b.fill(gen);
  if (c.beta != 0.0) cm.fill(gen);  // beta == 0: C stays NaN and must not leak
  const Stored<T> c0 = cm;

  affine::set_num_threads(c.threads);
  affine::gemm(c.ta, c.tb, c.m, c.n, c.k, T(c.alpha), a.data.data(), a.ld, b.data.data(), b.ld,
               T(c.beta), cm.data.data(), cm.ld);

  const double eps = std::numeric_limits<T>::epsilon();
  int reported = 0;
  std::vector<double> a_rows, a_mags, b_cols, b_mags;  // op(A) by rows, op(B) by columns
  if (check_oracle) {
    oracle_rows(a, c.ta, false, c.m, c.k, a_rows, a_mags);
    oracle_rows(b, c.tb, true, c.n, c.k, b_cols, b_mags);
  }
  for (int64_t i = 0; check_oracle && i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      const double* x = a_rows.data() + i * c.k;
      const double* y = b_cols.data() + j * c.k;
      const double* x_mag = a_mags.data() + i * c.k;
      const double* y_mag = b_mags.data() + j * c.k;
      double ref = 0, mag = 0;
      oracle_dot(x, y, x_mag, y_mag, c.k, ref, mag);
      ref *= c.alpha;
      mag *= std::fabs(c.alpha);
      if (c.beta != 0.0) {
        ref += c.beta * double(c0.at(i, j));
        mag += std::fabs(c.beta * double(c0.at(i, j)));
      }
      const double got = cm.at(i, j);
      const double tol = c.integers ? 0.0 : 16 * eps * mag;
      if (!(std::fabs(got - ref) <= tol) && reported++ < 3) {
        ADD_FAILURE() << describe(c) << ": C(" << i << ", " << j << ") = " << got << ", expected "
                      << ref << " (tolerance " << tol << ")";
      }
    }
  }
  EXPECT_TRUE(cm.padding_untouched()) << describe(c) << ": C padding written";
  return cm.data;
}

template <class T>
void sweep_grid(uint32_t seed_base) {
  ThreadGuard guard;
  uint32_t seed = seed_base;
  int64_t count = 0;
  for (int64_t m : kSizes) {
    for (int64_t n : kSizes) {
      for (int64_t k : kSizes) {
        for (int t = 0; t < 4; ++t) {
          // Rotate alpha, beta, padding and threads through the grid so each value meets
          // every size class without multiplying the run time.
          Case c = shaped(t, m, n, k);
          c.alpha = kAlphas[(count / 3) % 4];
          c.beta = kBetas[count % 3];
          c.pad = (count % 5 == 0) ? 7 : (count % 2);
          c.threads = 1 + static_cast<int>(count % 3);
          run_case<T>(c, ++seed);
          ++count;
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

TEST(Gemm, ReportsIsa) {
  const affine::Isa isa = affine::active_isa();
  std::printf("[ affine   ] active ISA: %s\n", affine::isa_name(isa).data());
  ::testing::Test::RecordProperty("isa", std::string(affine::isa_name(isa)));
  if (const char* want = std::getenv("AFFINE_ISA"); want != nullptr && *want != '\0') {
    // A forced ISA the CPU has must really be the one running.
    const std::string w(want);
    if ((w == "avx512" && affine::detail::cpu_supports(affine::Isa::avx512)) ||
        (w == "avx2" && affine::detail::cpu_supports(affine::Isa::avx2)) || w == "generic") {
      EXPECT_EQ(affine::isa_name(isa), w);
    }
  } else {
    EXPECT_EQ(isa, affine::best_isa());
  }
  // best_isa() is the best the CPU runs, whatever AFFINE_ISA says.
  EXPECT_GE(affine::best_isa(), isa);
  for (const affine::Isa other : {affine::Isa::avx512, affine::Isa::avx2, affine::Isa::generic}) {
    EXPECT_EQ(affine::detail::cpu_supports(other), other <= affine::best_isa())
        << affine::isa_name(other);
  }
}

TEST(Gemm, FloatGridAllTransposes) { sweep_grid<float>(1000); }
TEST(Gemm, DoubleGridAllTransposes) { sweep_grid<double>(5000000); }

// Every alpha x beta x transpose on a few shapes that cross the small/packed boundary.
TEST(Gemm, AlphaBetaTransposeProduct) {
  ThreadGuard guard;
  uint32_t seed = 77;
  const int64_t shapes[][3] = {{33, 65, 17}, {100, 70, 90}, {4, 300, 200}, {300, 3, 50}};
  for (const auto& s : shapes)
    for (double alpha : kAlphas)
      for (double beta : kBetas)
        for (int t = 0; t < 4; ++t)
          for (int64_t pad : {int64_t{0}, int64_t{1}, int64_t{7}}) {
            Case c = shaped(t, s[0], s[1], s[2]);
            c.alpha = alpha;
            c.beta = beta;
            c.pad = pad;
            run_case<float>(c, ++seed);
            run_case<double>(c, ++seed);
          }
}

// The tiny-k row-broadcast kernel (k <= 4 keeps B in registers; rowbcast_tinyk) and its
// neighbour k = 5: every depth, widths around the vector width and the register chunk (up to 8
// vectors: 128 floats), all transposes (which reach it through the transposed plans and the
// packing of B), alpha 1 (no scaling) and not, beta 0 and not, padded leading dimensions.
TEST(Gemm, TinyKEveryDepthAndWidth) {
  ThreadGuard guard;
  uint32_t seed = 555;
  int count = 0;
  for (int64_t k = 1; k <= 5; ++k)
    for (int64_t n : {1, 3, 15, 16, 17, 47, 95, 97, 127, 128, 129, 300})
      for (int64_t m : {1, 5, 29})
        for (int t = 0; t < 4; ++t) {
          Case c = shaped(t, m, n, k);
          c.alpha = count % 2 ? 1.0 : -1.3;
          c.beta = kBetas[(count / 2) % 3];
          c.pad = count % 3;
          ++count;
          run_case<float>(c, ++seed);
          run_case<double>(c, ++seed);
        }
  // Enough rows for several threads: every thread count gives the 1-thread bits.
  for (int64_t k = 1; k <= 4; ++k) {
    Case c = shaped(0, 1031, 131, k);
    c.alpha = k % 2 ? 1.0 : 0.7;
    c.beta = k == 3 ? 1.3 : 0.0;
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      c.threads = threads;
      std::vector<float> out = run_case<float>(c, 900 + static_cast<uint32_t>(k), threads == 1);
      if (threads == 1) {
        first = out;
      } else {
        EXPECT_EQ(0, std::memcmp(first.data(), out.data(), first.size() * sizeof(float)))
            << describe(c) << ": differs from the 1-thread result";
      }
    }
  }
}

// The dot kernel (small n, deeper k, A rows and B columns contiguous: nt): every tile height
// from 1 to 16 rows (narrow tiles take more rows) and the even row split, 1 to 5 columns, k
// around the vector width, summed by the shuffle tree.
TEST(Gemm, DotTilesEveryHeight) {
  ThreadGuard guard;
  uint32_t seed = 700;
  int count = 0;
  for (int64_t m = 1; m <= 35; m += (m < 20 ? 1 : 15))
    for (int64_t n = 1; n <= 5; ++n)
      for (int64_t k : {15, 17, 100}) {
        Case c = shaped(2, m, n, k);
        c.alpha = count % 2 ? 1.0 : -0.7;
        c.beta = kBetas[count % 3];
        c.pad = count % 2;
        ++count;
        run_case<float>(c, ++seed);
        run_case<double>(c, ++seed);
      }
}

// Two columns of C with ldc = 2 (the batch-32 layer shapes' dW and dX): the transposed plan
// computes C^T, whose two-row tiles are interleaved in registers and stored whole (rowbcast);
// the dot plan stores a tile's sums as whole vectors. Rows around the vector width and the tile
// width (up to 8 vectors: 128 floats), every transpose, alpha 1 and not, beta 0 and not, with and
// without padding (which takes the strided stores instead).
TEST(Gemm, TwoColumnsStoredWhole) {
  ThreadGuard guard;
  uint32_t seed = 1300;
  int count = 0;
  for (int64_t m : {1, 7, 8, 9, 15, 16, 17, 33, 100, 127, 129})
    for (int64_t k : {5, 32, 100})
      for (int t = 0; t < 4; ++t) {
        Case c = shaped(t, m, 2, k);
        c.alpha = count % 2 ? 1.0 : -0.7;
        c.beta = kBetas[(count / 2) % 3];
        c.pad = count % 5 == 4 ? 1 : 0;
        ++count;
        run_case<float>(c, ++seed);
        run_case<double>(c, ++seed);
      }
}

// Sizes one either side of each blocking parameter, plus a large odd case, with 1-3 threads;
// every thread count must give the same bits.
template <class T>
void blocking_edges() {
  ThreadGuard guard;
  const auto& blk = affine::detail::gemm::gemm_blocking<T>();
  std::vector<std::array<int64_t, 3>> shapes;  // m, n, k
  for (int64_t d : {int64_t{-1}, int64_t{1}}) {
    shapes.push_back({blk.mr + d, blk.nr + d, 37});
    shapes.push_back({blk.mr * 3 + d, blk.nr * 2 + d, 40});
    shapes.push_back({41, 47, blk.kc + d});
    shapes.push_back({blk.mc + d, 35, 29});
    shapes.push_back({13, blk.nc + d, 19});
  }
  shapes.push_back({513, 1031, 257});
  uint32_t seed = 4242;
  int count = 0;
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      // The big float case in every transpose; the rest rotate through them (run time).
      if ((s[0] != 513 || sizeof(T) != 4) && t != count % 4) continue;
      Case c = shaped(t, s[0], s[1], s[2]);
      c.alpha = kAlphas[1 + count % 3];
      c.beta = kBetas[count % 3];
      c.pad = count % 2 ? 7 : 1;
      ++seed;
      std::vector<T> first;
      for (int threads : {1, 2, 3}) {
        c.threads = threads;
        // The oracle once: more threads must give the 1-thread result bit for bit, which the
        // comparison below checks (the oracle was two thirds of this test's time).
        std::vector<T> out = run_case<T>(c, seed, threads == 1);
        if (threads == 1) {
          first = out;
        } else {
          EXPECT_EQ(0, std::memcmp(first.data(), out.data(), first.size() * sizeof(T)))
              << describe(c) << ": differs from the 1-thread result";
        }
      }
      ++count;
    }
  }
}

TEST(Gemm, FloatBlockingEdgesAndThreads) { blocking_edges<float>(); }
TEST(Gemm, DoubleBlockingEdgesAndThreads) { blocking_edges<double>(); }

// Small integers: every product and partial sum is exact, so results must equal the oracle
// exactly and be identical for every thread count and both paths (small and packed).
TEST(Gemm, SmallIntegersBitExactForAnyThreadCount) {
  ThreadGuard guard;
  const int64_t shapes[][3] = {{300, 200, 700}, {1000, 100, 2}, {1000, 2, 100}, {2, 1000, 100},
                               {100, 1000, 2},  {64, 64, 64},   {257, 129, 515}};
  uint32_t seed = 9;
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      Case c = shaped(t, s[0], s[1], s[2]);
      c.beta = t % 2;
      c.integers = true;
      ++seed;
      std::vector<float> first;
      for (int threads : {1, 2, 3}) {
        c.threads = threads;
        auto out = run_case<float>(c, seed);
        if (threads == 1)
          first = out;
        else
          EXPECT_EQ(0, std::memcmp(first.data(), out.data(), first.size() * sizeof(float)));
      }
    }
  }
}

// alpha == 0 must not read A or B: NaN there gives exactly beta * C.
template <class T>
void alpha_zero_ignores_ab() {
  for (int64_t size : {int64_t{3}, int64_t{70}, int64_t{300}}) {
    for (double beta : kBetas) {
      const int64_t m = size, n = size + 5, k = size + 2;
      std::vector<T> a(m * k, nan_v<T>()), b(k * n, nan_v<T>()), c(m * n), c0;
      for (size_t i = 0; i < c.size(); ++i) c[i] = T(0.25) * T(i % 7) - T(0.5);
      c0 = c;
      affine::gemm(Trans::no, Trans::no, m, n, k, T(0), a.data(), k, b.data(), n, T(beta), c.data(),
                   n);
      for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], T(beta) * c0[i]) << "beta=" << beta;
    }
  }
}
TEST(Gemm, AlphaZeroIgnoresNaNInAandB) {
  alpha_zero_ignores_ab<float>();
  alpha_zero_ignores_ab<double>();
}

// beta == 0 must not read C: NaN there does not leak.
template <class T>
void beta_zero_ignores_c() {
  ThreadGuard guard;
  const int64_t shapes[][3] = {{3, 4, 5},      {1000, 2, 100}, {1000, 100, 2},
                               {100, 1000, 2}, {129, 65, 33},  {300, 310, 320}};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> uni(-1, 1);
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      const Trans ta = (t & 1) ? Trans::yes : Trans::no, tb = (t & 2) ? Trans::yes : Trans::no;
      const int64_t m = s[0], n = s[1], k = s[2];
      std::vector<T> a(m * k), b(k * n), c(m * n, nan_v<T>());
      for (auto& x : a) x = T(uni(rng));
      for (auto& x : b) x = T(uni(rng));
      affine::set_num_threads(2);
      affine::gemm(ta, tb, m, n, k, T(1), a.data(), ta == Trans::yes ? m : k, b.data(),
                   tb == Trans::yes ? k : n, T(0), c.data(), n);
      for (T x : c) ASSERT_TRUE(std::isfinite(x)) << m << "x" << n << "x" << k;
    }
  }
}
TEST(Gemm, BetaZeroIgnoresNaNInC) {
  beta_zero_ignores_c<float>();
  beta_zero_ignores_c<double>();
}

// gemm_strided: every matrix with arbitrary non-unit strides (both row and column), embedded in
// a NaN-filled buffer, including a column-major C.
template <class T>
void strided_case(int64_t m, int64_t n, int64_t k, int64_t rs_a, int64_t cs_a, int64_t rs_b,
                  int64_t cs_b, int64_t rs_c, int64_t cs_c, double alpha, double beta,
                  uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(-1, 1);
  auto extent = [](int64_t r, int64_t c, int64_t rs, int64_t cs) {
    return (r - 1) * rs + (c - 1) * cs + 1;
  };
  std::vector<T> a(extent(m, k, rs_a, cs_a), nan_v<T>()), b(extent(k, n, rs_b, cs_b), nan_v<T>()),
      c(extent(m, n, rs_c, cs_c), nan_v<T>());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) a[i * rs_a + p * cs_a] = T(uni(rng));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) b[p * rs_b + j * cs_b] = T(uni(rng));
  if (beta != 0)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * rs_c + j * cs_c] = T(uni(rng));
  const std::vector<T> c0 = c;
  affine::gemm_strided(m, n, k, T(alpha), a.data(), rs_a, cs_a, b.data(), rs_b, cs_b, T(beta),
                       c.data(), rs_c, cs_c);
  const double eps = std::numeric_limits<T>::epsilon();
  std::vector<bool> is_c(c.size(), false);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double ref = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = a[i * rs_a + p * cs_a], y = b[p * rs_b + j * cs_b];
        ref += x * y;
        mag += std::fabs(x * y);
      }
      ref *= alpha;
      mag *= std::fabs(alpha);
      const int64_t at = i * rs_c + j * cs_c;
      is_c[at] = true;
      if (beta != 0) {
        ref += beta * double(c0[at]);
        mag += std::fabs(beta * double(c0[at]));
      }
      ASSERT_LE(std::fabs(c[at] - ref), 16 * eps * mag)
          << "strided m=" << m << " n=" << n << " k=" << k << " at (" << i << ", " << j << ")";
    }
  }
  for (size_t x = 0; x < c.size(); ++x)
    if (!is_c[x]) {
      ASSERT_TRUE(std::isnan(c[x])) << "gemm_strided wrote outside C";
    }
}

TEST(Gemm, StridedAllOperands) {
  uint32_t seed = 1;
  const int64_t shapes[][3] = {{5, 7, 3},     {33, 17, 65}, {130, 70, 90},  {1000, 2, 3},
                               {2, 100, 300}, {64, 64, 64}, {200, 210, 220}};
  for (const auto& s : shapes) {
    const int64_t m = s[0], n = s[1], k = s[2];
    // Row-ish, column-ish and fully general layouts for each operand.
    strided_case<float>(m, n, k, 2 * k + 3, 2, 3, 3 * k + 1, 1, m + 2, 1.3, 0.7, ++seed);
    strided_case<float>(m, n, k, 3, 3 * m + 2, n * 2 + 1, 2, 2 * n + 5, 2, -0.7, 0.0, ++seed);
    strided_case<double>(m, n, k, 1, m + 3, 1, k + 1, 1, m, 1.0, 1.0, ++seed);
    strided_case<double>(m, n, k, 5, 5 * m, 7 * n, 7, 3 * n, 3, 0.7, 1.3, ++seed);
  }
}

TEST(Gemm, BadArgumentsThrowNamingGemmAndValues) {
  std::vector<float> buf(100, 0.0f);
  float* p = buf.data();
  auto expect_error = [](auto&& call, const std::string& must_contain) {
    try {
      call();
      ADD_FAILURE() << "no exception; expected one mentioning " << must_contain;
    } catch (const affine::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("gemm"), std::string::npos) << what;
      EXPECT_NE(what.find(must_contain), std::string::npos) << what;
    }
  };
  expect_error([&] { affine::gemm(Trans::no, Trans::no, -1, 2, 2, 1.f, p, 2, p, 2, 0.f, p, 2); },
               "m=-1");
  expect_error([&] { affine::gemm(Trans::no, Trans::no, 2, 2, -3, 1.f, p, 2, p, 2, 0.f, p, 2); },
               "k=-3");
  expect_error([&] { affine::gemm(Trans::no, Trans::no, 3, 4, 5, 1.f, p, 4, p, 4, 0.f, p, 4); },
               "lda=4");
  expect_error([&] { affine::gemm(Trans::yes, Trans::no, 3, 4, 5, 1.f, p, 2, p, 4, 0.f, p, 4); },
               "lda=2");
  expect_error([&] { affine::gemm(Trans::no, Trans::yes, 3, 4, 5, 1.f, p, 5, p, 4, 0.f, p, 4); },
               "ldb=4");
  expect_error([&] { affine::gemm(Trans::no, Trans::no, 3, 4, 5, 1.f, p, 5, p, 4, 0.f, p, 3); },
               "ldc=3");
  expect_error([&] { affine::gemm_strided(2, 2, 2, 1.f, p, 2, 1, p, 2, 1, 0.f, p, 1, 1); },
               "rs_c=1");
  expect_error([&] { affine::gemm_strided(2, -2, 2, 1.f, p, 2, 1, p, 2, 1, 0.f, p, 2, 1); },
               "n=-2");
  EXPECT_THROW(affine::set_num_threads(0), affine::Error);
}

TEST(Gemm, ZeroSizesTouchNothing) {
  std::vector<float> c(4, nan_v<float>());
  affine::gemm(Trans::no, Trans::no, 0, 2, 3, 1.f, nullptr, 3, nullptr, 2, 0.f, c.data(), 2);
  affine::gemm(Trans::no, Trans::no, 2, 0, 3, 1.f, nullptr, 3, nullptr, 1, 0.f, c.data(), 1);
  for (float x : c) EXPECT_TRUE(std::isnan(x));
  // k == 0: C := beta * C, A and B never touched.
  std::vector<float> d(6, 2.f);
  affine::gemm(Trans::no, Trans::no, 2, 3, 0, 1.f, nullptr, 1, nullptr, 3, 0.5f, d.data(), 3);
  for (float x : d) EXPECT_EQ(x, 1.f);
}

}  // namespace

// Hidden-run finding (issue 15): with beta = 0, alpha < 0 and a dot product that is exactly 0,
// GEMM wrote -0 where reference BLAS writes +0 (it starts C at +0 and adds the products). Every
// path: 1x1x1 (small), skinny (dot and row-broadcast kernels), and a packed size; both dtypes.
// alpha = 1 with B = -1 makes the products -0 too (the tiny-k kernel skips the scaling then).
template <class T>
void beta_zero_never_writes_negative_zero() {
  for (const auto& [m, n, k] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {1, 7, 3}, {9, 1, 5}, {5, 6, 2}, {7, 40, 4}, {70, 65, 40}, {130, 3, 300}}) {
    for (const T alpha : {T(-1), T(1)}) {
      std::vector<T> a(static_cast<size_t>(m * k), T(0));
      std::vector<T> b(static_cast<size_t>(k * n), -alpha);
      std::vector<T> c(static_cast<size_t>(m * n), T(7));
      affine::gemm(Trans::no, Trans::no, m, n, k, alpha, a.data(), k, b.data(), n, T(0), c.data(),
                   n);
      for (size_t i = 0; i < c.size(); ++i) {
        ASSERT_TRUE(c[i] == T(0) && !std::signbit(c[i]))
            << "C[" << i << "] = " << c[i] << " for m=" << m << " n=" << n << " k=" << k
            << " alpha=" << alpha;
      }
    }
  }
}

TEST(Gemm, BetaZeroWritesPositiveZeroAsReferenceBlas) {
  beta_zero_never_writes_negative_zero<float>();
  beta_zero_never_writes_negative_zero<double>();
}
