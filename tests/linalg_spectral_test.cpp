// affine::linalg's spectral half: eigh/eigvalsh, svd/svdvals and what is built on them.
//
// Accuracy is checked as backward error, with u the unit roundoff of the dtype and n the largest
// dimension:
//   eigh  ||A V - V diag(w)||_F / (||A||_F n u) <= kResidual   ||V^T V - I||_F / (n u) <= kOrtho
//   svd   ||A - U diag(S) Vh||_F / (||A||_F n u) <= kResidual  ||U^T U - I||, ||Vh Vh^T - I|| ditto
// and eigenvalues/singular values against LAPACK's (dsyevd/dgesdd, linked into this test only):
//   |w - w_lapack| <= kValues n u ||A||_F (both are backward stable, so by Weyl's theorem each
//   is within a few n u ||A|| of the exact value).
// The constants are at least twice the largest ratio seen over every case, dtype and ISA here
// (printed by each test; measured: residual 1.3, orthogonality 3.0, values 0.6); the proofs
// (Householder reductions and rotation sequences, Higham ch. 18-19; for divide and conquer, Gu
// and Eisenstat's recomputed z with deflation at a few ulps) give c n u with c a modest multiple
// of 1, which is what we observe.
#include <gtest/gtest.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "affine/tensor/linalg.hpp"
#include "affine/tensor/ops.hpp"
#include "affine/tensor/random.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using Mat = std::vector<double>;  // row-major

constexpr double kResidual = 4;
constexpr double kOrtho = 8;
constexpr double kValues = 4;

// The worst ratios seen, printed by each test so the constants above can be re-derived.
struct Worst {
  double residual = 0, ortho = 0, values = 0;
  void print(const char* what) const {
    std::printf("%s worst ratios: residual %.3g, orthogonality %.3g, values %.3g\n", what, residual,
                ortho, values);
  }
};
Worst worst;

// EXPECT_LE(ratio, bound), remembering the ratio in slot.
void expect_ratio(double ratio, double bound, double& slot) {
  slot = std::max(slot, ratio);
  EXPECT_LE(ratio, bound);
}

double unit_roundoff(DType dt) { return dt == DType::f32 ? 0x1p-24 : 0x1p-53; }

Mat randn(int64_t m, int64_t n, Generator& g) {
  Mat a(static_cast<size_t>(m * n));
  for (double& x : a) x = g.normal();
  return a;
}

// C = A B for row-major A [m x k], B [k x n], in long double.
Mat matmul(const Mat& a, const Mat& b, int64_t m, int64_t k, int64_t n) {
  Mat c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      long double s = 0;
      for (int64_t p = 0; p < k; ++p) s += (long double)a[i * k + p] * b[p * n + j];
      c[i * n + j] = static_cast<double>(s);
    }
  }
  return c;
}

Mat transpose(const Mat& a, int64_t m, int64_t n) {
  Mat t(a.size());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) t[j * m + i] = a[i * n + j];
  }
  return t;
}

double fro(const Mat& a) {
  long double s = 0;
  for (double x : a) s += (long double)x * x;
  return std::sqrt(static_cast<double>(s));
}

// A random orthogonal n x n matrix (Q of the QR of a Gaussian matrix, from LAPACK).
Mat orthogonal(int64_t n, Generator& g) {
  Mat a = randn(n, n, g);
  std::vector<double> tau(static_cast<size_t>(n));
  LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, a.data(), n, tau.data());
  LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, n, a.data(), n, tau.data());
  return a;
}

// U diag(s) V^T for random orthogonal U [m x m], V [n x n], s of length min(m, n).
Mat with_singular_values(int64_t m, int64_t n, const std::vector<double>& s, Generator& g) {
  const Mat u = orthogonal(m, g), v = orthogonal(n, g);
  Mat us(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < s.size(); ++j) us[i * n + j] = u[i * m + j] * s[j];
  }
  return matmul(us, transpose(v, n, n), m, n, n);
}

std::vector<double> logspace(double hi, double lo, int64_t k) {
  std::vector<double> s(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) s[i] = std::pow(10.0, k == 1 ? hi : hi + (lo - hi) * i / (k - 1));
  return s;
}

struct Case {
  std::string name;
  int64_t m, n;
  Mat a;
};

// The general test matrices (m x n); symmetric_cases() makes them symmetric.
std::vector<Case> general_cases() {
  Generator g(42);
  std::vector<Case> cs;
  cs.push_back({"random 1x1", 1, 1, {-3.5}});
  cs.push_back({"random 2x2", 2, 2, randn(2, 2, g)});
  cs.push_back({"random 17x17", 17, 17, randn(17, 17, g)});
  cs.push_back({"random 70x70", 70, 70, randn(70, 70, g)});
  cs.push_back({"tall 40x7", 40, 7, randn(40, 7, g)});
  cs.push_back({"wide 7x40", 7, 40, randn(7, 40, g)});
  cs.push_back({"tall 90x33", 90, 33, randn(90, 33, g)});
  // Past the blocked bidiagonalisation's crossover (128 columns): panels plus the unblocked tail.
  cs.push_back({"wide 170x260 (blocked)", 170, 260, randn(170, 260, g)});
  cs.push_back({"ill-conditioned 30x30 (cond 1e12)", 30, 30,
                with_singular_values(30, 30, logspace(0, -12, 30), g)});
  cs.push_back({"ill-conditioned 25x12 (cond 1e12)", 25, 12,
                with_singular_values(25, 12, logspace(3, -9, 12), g)});
  {
    std::vector<double> s = logspace(0, -2, 20);
    for (size_t i = 12; i < s.size(); ++i) s[i] = 0;
    cs.push_back({"rank 12 of 20x20", 20, 20, with_singular_values(20, 20, s, g)});
  }
  {  // graded: rows and columns scaled over 16 orders of magnitude
    Mat a = randn(24, 24, g);
    for (int64_t i = 0; i < 24; ++i) {
      for (int64_t j = 0; j < 24; ++j) a[i * 24 + j] *= std::pow(10.0, -(i + j) / 3.0);
    }
    cs.push_back({"graded 24x24", 24, 24, a});
  }
  {
    Mat a(15 * 15, 0.0);
    for (int64_t i = 0; i < 15; ++i) a[i * 15 + i] = (i % 3 - 1) * (i + 1.5);
    cs.push_back({"diagonal 15x15 with zeros and repeats", 15, 15, a});
  }
  {
    Mat a(9 * 9, 0.0);
    for (int64_t i = 0; i < 9; ++i) a[i * 9 + i] = 1;
    cs.push_back({"identity 9x9", 9, 9, a});
  }
  cs.push_back({"zero 5x3", 5, 3, Mat(15, 0.0)});
  // Past the divide and conquer's leaf size (32): several merge levels, and merges that deflate
  // most of their values (equal singular values, a zero block).
  cs.push_back({"wide 130x300 (divide and conquer)", 130, 300, randn(130, 300, g)});
  cs.push_back({"orthogonal 150x150 (every singular value 1)", 150, 150, orthogonal(150, g)});
  {
    std::vector<double> s = logspace(1, -1, 160);
    for (size_t i = 60; i < s.size(); ++i) s[i] = 0;
    cs.push_back({"rank 60 of 160x160", 160, 160, with_singular_values(160, 160, s, g)});
  }
  {
    std::vector<double> s(120);
    for (size_t i = 0; i < s.size(); ++i) s[i] = double(i % 3 + 1);
    cs.push_back({"three values repeated 120x120", 120, 120, with_singular_values(120, 120, s, g)});
  }
  cs.push_back({"zero 64x64", 64, 64, Mat(64 * 64, 0.0)});
  return cs;
}

std::vector<Case> symmetric_cases() {
  std::vector<Case> cs;
  for (const Case& c : general_cases()) {
    if (c.m != c.n) continue;
    const int64_t n = c.n;
    Mat s(c.a.size());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) s[i * n + j] = 0.5 * (c.a[i * n + j] + c.a[j * n + i]);
    }
    cs.push_back({c.name, n, n, s});
  }
  // Past the divide and conquer's leaf size (32) by several levels, and the cases where most of
  // its merges deflate: equal and nearly equal eigenvalues, tiny couplings between blocks.
  Generator g(7);
  {
    Mat a = randn(260, 260, g);
    for (int64_t i = 0; i < 260; ++i) {
      for (int64_t j = 0; j < i; ++j) a[j * 260 + i] = a[i * 260 + j];
    }
    cs.push_back({"random symmetric 260x260", 260, 260, a});
  }
  const auto tridiagonal = [](int64_t n, auto diag, auto off) {
    Mat a(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      a[i * n + i] = diag(i);
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = off(i);
    }
    return a;
  };
  cs.push_back(
      {"Wilkinson W+ 101 (close pairs)", 101, 101,
       tridiagonal(
           101, [](int64_t i) { return std::abs(double(i - 50)); }, [](int64_t) { return 1.0; })});
  cs.push_back({"glued Wilkinson, 6 x W21 coupled by 1e-10", 126, 126,
                tridiagonal(
                    126, [](int64_t i) { return std::abs(double(i % 21 - 10)); },
                    [](int64_t i) { return i % 21 == 0 ? 1e-10 : 1.0; })});
  {  // I + 1e-9 x x^T: one eigenvalue apart, the rest equal to within rounding
    const Mat x = randn(150, 1, g);
    Mat a(150 * 150);
    for (int64_t i = 0; i < 150; ++i) {
      for (int64_t j = 0; j < 150; ++j) a[i * 150 + j] = (i == j) + 1e-9 * x[i] * x[j];
    }
    cs.push_back({"identity plus 1e-9 rank one 150x150", 150, 150, a});
  }
  {  // Q diag(0, 1, 2, 0, 1, 2, ...) Q^T: three eigenvalues, each repeated ~40 times
    const Mat q = orthogonal(120, g);
    Mat qd(120 * 120);
    for (int64_t i = 0; i < 120; ++i) {
      for (int64_t j = 0; j < 120; ++j) qd[i * 120 + j] = q[i * 120 + j] * double(j % 3);
    }
    cs.push_back({"three eigenvalues repeated 120x120", 120, 120,
                  matmul(qd, transpose(q, 120, 120), 120, 120, 120)});
  }
  return cs;
}

Tensor tensor_of(const Mat& a, int64_t m, int64_t n, DType dt) {
  return Tensor::from_vector(a, {m, n}).to(dt);
}

Mat mat_of(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

// ||Q^T Q - I||_F for Q [m x k] (columns orthonormal).
double orthogonality(const Mat& q, int64_t m, int64_t k) {
  Mat qtq = matmul(transpose(q, m, k), q, k, m, k);
  for (int64_t i = 0; i < k; ++i) qtq[i * k + i] -= 1;
  return fro(qtq);
}

std::vector<double> lapack_eigenvalues(Mat a, int64_t n) {
  std::vector<double> w(static_cast<size_t>(n));
  EXPECT_EQ(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', n, a.data(), n, w.data()), 0);
  return w;
}

std::vector<double> lapack_singular_values(Mat a, int64_t m, int64_t n) {
  std::vector<double> s(static_cast<size_t>(std::min(m, n)));
  double dummy[1];
  EXPECT_EQ(LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', m, n, a.data(), n, s.data(), dummy, m, dummy, n),
            0);
  return s;
}

// The matrix as stored in dtype (float32 rounding is part of the input, not of the error).
Mat as_stored(const Mat& a, int64_t m, int64_t n, DType dt) {
  return mat_of(tensor_of(a, m, n, dt));
}

void check_eigh(const Case& c, DType dt, char uplo) {
  SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)) + " uplo " + std::string(1, uplo));
  const int64_t n = c.n;
  const double u = unit_roundoff(dt);
  const Mat a = as_stored(c.a, n, n, dt);
  // Only the uplo triangle may be read: poison the other one.
  Mat poisoned = a;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (uplo == 'L' ? j > i : j < i) poisoned[i * n + j] = 1e30;
    }
  }
  const linalg::Eigh r = linalg::eigh(tensor_of(poisoned, n, n, dt), uplo);
  ASSERT_EQ(r.eigenvalues.shape(), Shape({n}));
  ASSERT_EQ(r.eigenvectors.shape(), Shape({n, n}));
  const Mat w = mat_of(r.eigenvalues), v = mat_of(r.eigenvectors);
  for (int64_t i = 1; i < n; ++i) {
    EXPECT_LE(w[i - 1], w[i]);
  }
  const double norm = std::max(fro(a), std::numeric_limits<double>::min());
  Mat av = matmul(a, v, n, n, n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) av[i * n + j] -= v[i * n + j] * w[j];
  }
  expect_ratio(fro(av) / (norm * n * u), kResidual, worst.residual);
  expect_ratio(orthogonality(v, n, n) / (n * u), kOrtho, worst.ortho);
  const std::vector<double> ref = lapack_eigenvalues(a, n);
  for (int64_t i = 0; i < n; ++i)
    expect_ratio(std::abs(w[i] - ref[i]) / (n * u * norm), kValues, worst.values);
  const Mat wv = mat_of(linalg::eigvalsh(tensor_of(poisoned, n, n, dt), uplo));
  for (int64_t i = 0; i < n; ++i)
    expect_ratio(std::abs(wv[i] - ref[i]) / (n * u * norm), kValues, worst.values);
}

TEST(Eigh, BackwardErrorOrthogonalityAndLapack) {
  for (const Case& c : symmetric_cases()) {
    for (DType dt : {DType::f64, DType::f32}) {
      check_eigh(c, dt, 'L');
      check_eigh(c, dt, 'U');
    }
  }
  worst.print("eigh");
  worst = {};
}

void check_svd(const Case& c, DType dt, bool full) {
  SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)) + (full ? " full" : " reduced"));
  const int64_t m = c.m, n = c.n, k = std::min(m, n);
  const double u = unit_roundoff(dt) * std::max(m, n);
  const Mat a = as_stored(c.a, m, n, dt);
  const linalg::SVD r = linalg::svd(tensor_of(a, m, n, dt), full);
  const int64_t uc = full ? m : k, vr = full ? n : k;
  ASSERT_EQ(r.U.shape(), Shape({m, uc}));
  ASSERT_EQ(r.S.shape(), Shape({k}));
  ASSERT_EQ(r.Vh.shape(), Shape({vr, n}));
  const Mat uu = mat_of(r.U), s = mat_of(r.S), vh = mat_of(r.Vh);
  for (int64_t i = 0; i < k; ++i) {
    EXPECT_GE(s[i], 0);
    if (i > 0) {
      EXPECT_LE(s[i], s[i - 1]);
    }
  }
  Mat us(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < k; ++j) us[i * k + j] = uu[i * uc + j] * s[j];
  }
  Mat resid = matmul(us, Mat(vh.begin(), vh.begin() + k * n), m, k, n);
  for (size_t i = 0; i < resid.size(); ++i) resid[i] -= a[i];
  const double norm = std::max(fro(a), std::numeric_limits<double>::min());
  expect_ratio(fro(resid) / (norm * u), kResidual, worst.residual);
  expect_ratio(orthogonality(uu, m, uc) / u, kOrtho, worst.ortho);
  expect_ratio(orthogonality(transpose(vh, vr, n), n, vr) / u, kOrtho, worst.ortho);
  const std::vector<double> ref = lapack_singular_values(a, m, n);
  for (int64_t i = 0; i < k; ++i)
    expect_ratio(std::abs(s[i] - ref[i]) / (u * norm), kValues, worst.values);
  const Mat sv = mat_of(linalg::svdvals(tensor_of(a, m, n, dt)));
  for (int64_t i = 0; i < k; ++i)
    expect_ratio(std::abs(sv[i] - ref[i]) / (u * norm), kValues, worst.values);
}

TEST(Svd, BackwardErrorOrthogonalityAndLapack) {
  for (const Case& c : general_cases()) {
    for (DType dt : {DType::f64, DType::f32}) {
      check_svd(c, dt, true);
      check_svd(c, dt, false);
    }
  }
  worst.print("svd");
  worst = {};
}

// Every matrix of a batch is factored on its own: the same bits as one at a time.
TEST(Spectral, BatchesMatchSingleMatrices) {
  Generator g(7);
  for (DType dt : {DType::f64, DType::f32}) {
    const Tensor a = Tensor::randn({2, 3, 6, 5}, g, dt);
    const Tensor sym =
        add(a.narrow(3, 0, 5).narrow(2, 0, 5), a.narrow(3, 0, 5).narrow(2, 0, 5).transpose(2, 3));
    const linalg::SVD r = linalg::svd(a, false);
    const linalg::Eigh e = linalg::eigh(sym);
    ASSERT_EQ(r.U.shape(), Shape({2, 3, 6, 5}));
    ASSERT_EQ(r.S.shape(), Shape({2, 3, 5}));
    ASSERT_EQ(r.Vh.shape(), Shape({2, 3, 5, 5}));
    ASSERT_EQ(e.eigenvalues.shape(), Shape({2, 3, 5}));
    ASSERT_EQ(e.eigenvectors.shape(), Shape({2, 3, 5, 5}));
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        const linalg::SVD one = linalg::svd(a[i][j], false);
        EXPECT_EQ(mat_of(one.U), mat_of(r.U[i][j]));
        EXPECT_EQ(mat_of(one.S), mat_of(r.S[i][j]));
        EXPECT_EQ(mat_of(one.Vh), mat_of(r.Vh[i][j]));
        const linalg::Eigh eo = linalg::eigh(sym[i][j]);
        EXPECT_EQ(mat_of(eo.eigenvalues), mat_of(e.eigenvalues[i][j]));
        EXPECT_EQ(mat_of(eo.eigenvectors), mat_of(e.eigenvectors[i][j]));
      }
    }
  }
}

// Signs are fixed by a convention (the largest entry of each eigenvector / left singular vector is
// positive), so a result never depends on more than the input.
TEST(Spectral, SignConvention) {
  Generator g(3);
  const Tensor a = Tensor::randn({8, 6}, g, DType::f64);
  const Mat u = mat_of(linalg::svd(a, false).U);
  const Mat v = mat_of(linalg::eigh(matmul(a.t(), a)).eigenvectors);
  for (int64_t c = 0; c < 6; ++c) {
    int64_t big = 0;
    for (int64_t r = 1; r < 8; ++r)
      big = std::abs(u[r * 6 + c]) > std::abs(u[big * 6 + c]) ? r : big;
    EXPECT_GT(u[big * 6 + c], 0);
    big = 0;
    for (int64_t r = 1; r < 6; ++r)
      big = std::abs(v[r * 6 + c]) > std::abs(v[big * 6 + c]) ? r : big;
    EXPECT_GT(v[big * 6 + c], 0);
  }
}

TEST(Spectral, BadInputsNameTheOperationAndShape) {
  using test::error_of;
  const Tensor rect = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_EQ(error_of([&] { linalg::eigh(rect); }),
            "eigh: A must be square (batches of n x n matrices), got shape [2, 3]");
  EXPECT_EQ(error_of([&] { linalg::eigvalsh(rect); }),
            "eigvalsh: A must be square (batches of n x n matrices), got shape [2, 3]");
  EXPECT_EQ(error_of([&] {
              linalg::eigh(Tensor::zeros({3, 3}), 'X');
            }),
            "eigh: uplo must be 'L' or 'U', got 'X'");
  EXPECT_EQ(error_of([&] { linalg::svd(Tensor::zeros({4})); }),
            "svd: A must have at least 2 dimensions (a matrix), got shape [4]");
  EXPECT_EQ(error_of([&] {
              linalg::svdvals(Tensor::zeros({2, 2}, DType::i64));
            }),
            "svdvals: A must be float32 or float64, got int64");
  EXPECT_EQ(error_of([&] { linalg::svd(Tensor()); }), "svd: A is an undefined tensor");
}

// NaN or Inf anywhere in what is read: every output is NaN (no throw, no hang).
TEST(Spectral, NonFiniteInputGivesNaN) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    Tensor a = Tensor::eye(4, DType::f64);
    a.set({2, 1}, bad);
    const linalg::Eigh e = linalg::eigh(a);
    for (double x : mat_of(e.eigenvalues)) EXPECT_TRUE(std::isnan(x));
    for (double x : mat_of(e.eigenvectors)) EXPECT_TRUE(std::isnan(x));
    // The upper triangle is not read: eigh(a, 'U') is the identity's.
    EXPECT_EQ(mat_of(linalg::eigh(a, 'U').eigenvalues), Mat({1, 1, 1, 1}));
    const linalg::SVD r = linalg::svd(a.to(DType::f32));
    for (const Tensor& t : {r.U, r.S, r.Vh}) {
      for (double x : mat_of(t)) EXPECT_TRUE(std::isnan(x));
    }
  }
}

// Empty matrices as numpy: no values, and identities where full_matrices asks for square factors.
TEST(Spectral, EmptyMatrices) {
  const linalg::Eigh e = linalg::eigh(Tensor::zeros({3, 0, 0}, DType::f64));
  EXPECT_EQ(e.eigenvalues.shape(), Shape({3, 0}));
  EXPECT_EQ(e.eigenvectors.shape(), Shape({3, 0, 0}));
  const linalg::SVD wide = linalg::svd(Tensor::zeros({0, 3}, DType::f64), true);
  EXPECT_EQ(wide.U.shape(), Shape({0, 0}));
  EXPECT_EQ(wide.S.shape(), Shape({0}));
  EXPECT_EQ(mat_of(wide.Vh), mat_of(Tensor::eye(3, DType::f64)));
  const linalg::SVD tall = linalg::svd(Tensor::zeros({3, 0}, DType::f64), true);
  EXPECT_EQ(mat_of(tall.U), mat_of(Tensor::eye(3, DType::f64)));
  EXPECT_EQ(tall.Vh.shape(), Shape({0, 0}));
  const linalg::SVD reduced = linalg::svd(Tensor::zeros({3, 0}, DType::f64), false);
  EXPECT_EQ(reduced.U.shape(), Shape({3, 0}));
  EXPECT_EQ(reduced.Vh.shape(), Shape({0, 0}));
  EXPECT_EQ(linalg::svdvals(Tensor::zeros({2, 0, 5})).shape(), Shape({2, 0}));
}

// ---- pinv, matrix_rank, cond, lstsq (gelsd), spectral norms ------------------------------------

double max_abs_diff(const Mat& a, const Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// The four Penrose conditions, each relative to the size of its terms.
TEST(Pinv, PenroseConditions) {
  for (const Case& c : general_cases()) {
    SCOPED_TRACE(c.name);
    const int64_t m = c.m, n = c.n;
    if (c.name.rfind("ill", 0) == 0) continue;  // pinv of cond 1e12 amplifies by 1e12 by design
    const Mat x = mat_of(linalg::pinv(tensor_of(c.a, m, n, DType::f64)));
    const Mat& a = c.a;
    const double na = std::max(fro(a), 1e-300), nx = std::max(fro(x), 1e-300);
    const double tol = 1e-11;
    const Mat ax = matmul(a, x, m, n, m), xa = matmul(x, a, n, m, n);
    EXPECT_LE(max_abs_diff(matmul(ax, a, m, m, n), a), tol * na * na * nx);
    EXPECT_LE(max_abs_diff(matmul(xa, x, n, n, m), x), tol * nx * nx * na);
    EXPECT_LE(max_abs_diff(ax, transpose(ax, m, m)), tol * na * nx);
    EXPECT_LE(max_abs_diff(xa, transpose(xa, n, n)), tol * na * nx);
  }
}

TEST(Pinv, HermitianMatchesGeneralAndTolerancesDrop) {
  for (const Case& c : symmetric_cases()) {
    SCOPED_TRACE(c.name);
    // Skip the cases whose pseudo-inverse is as ill-conditioned as the cutoff (cond 1e12, graded).
    if (c.name.rfind("ill", 0) == 0 || c.name.rfind("graded", 0) == 0) continue;
    const Tensor a = tensor_of(c.a, c.n, c.n, DType::f64);
    const Mat general = mat_of(linalg::pinv(a)), herm = mat_of(linalg::pinv(a, {}, {}, true));
    EXPECT_LE(max_abs_diff(general, herm), 1e-9 * std::max(1.0, fro(general)));
  }
  // atol above every singular value: the pseudo-inverse is zero.
  const Tensor a = Tensor::of({3, 0, 0, 1e-3}, {2, 2}, DType::f64);
  EXPECT_EQ(mat_of(linalg::pinv(a, 10.0)), Mat({0, 0, 0, 0}));
  EXPECT_EQ(mat_of(linalg::pinv(a, 0.01)), Mat({1 / 3.0, 0, 0, 0}));
  EXPECT_EQ(mat_of(linalg::pinv(a, {}, 0.5)), Mat({1 / 3.0, 0, 0, 0}));
}

TEST(MatrixRank, CountsSingularValuesAboveTheTolerance) {
  for (const Case& c : general_cases()) {
    SCOPED_TRACE(c.name);
    const int64_t expect = c.name.rfind("rank 12", 0) == 0   ? 12
                           : c.name.rfind("rank 60", 0) == 0 ? 60
                           : c.name.rfind("zero", 0) == 0    ? 0
                           : c.name.rfind("diag", 0) == 0    ? 10
                                                             : std::min(c.m, c.n);
    if (c.name.rfind("ill", 0) == 0 || c.name.rfind("graded", 0) == 0) continue;
    EXPECT_EQ(linalg::matrix_rank(tensor_of(c.a, c.m, c.n, DType::f64)).item(), expect);
    EXPECT_EQ(linalg::matrix_rank(tensor_of(c.a, c.m, c.n, DType::f32)).item(), expect);
  }
  const Tensor d = Tensor::of({5, 0, 0, 0, -1, 0, 0, 0, 1e-20}, {3, 3}, DType::f64);
  EXPECT_EQ(linalg::matrix_rank(d).item(), 2);
  EXPECT_EQ(linalg::matrix_rank(d, {}, {}, true).item(), 2);
  EXPECT_EQ(linalg::matrix_rank(d, 2.0).item(), 1);
  EXPECT_EQ(linalg::matrix_rank(d, 0.0, 0.0).item(), 3);
  EXPECT_EQ(linalg::matrix_rank(Tensor::zeros({2, 4, 3})).shape(), Shape({2}));
  EXPECT_EQ(linalg::matrix_rank(Tensor::zeros({2, 4, 3})).dtype(), DType::i64);
}

TEST(Cond, RatioOfExtremeSingularValues) {
  Generator g(5);
  const Tensor a = tensor_of(with_singular_values(12, 8, logspace(2, -4, 8), g), 12, 8, DType::f64);
  EXPECT_NEAR(linalg::cond(a).item() / 1e6, 1.0, 1e-8);
  EXPECT_TRUE(std::isinf(linalg::cond(Tensor::zeros({3, 3}, DType::f64)).item()));
  EXPECT_EQ(linalg::cond(Tensor::eye(4, DType::f32)).item(), 1.0);
  EXPECT_EQ(test::error_of([] {
              linalg::cond(Tensor::zeros({0, 3}));
            }),
            "cond: the condition number of an empty matrix [0, 3] is not defined");
}

TEST(MatrixNorm, SpectralOrdsFromTheSingularValues) {
  for (const Case& c : general_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor a = tensor_of(c.a, c.m, c.n, DType::f64);
    const std::vector<double> s = lapack_singular_values(c.a, c.m, c.n);
    double nuc = 0;
    for (double x : s) nuc += x;
    const double tol = 1e-13 * std::max(1.0, s[0]) * std::max(c.m, c.n);
    EXPECT_NEAR(linalg::matrix_norm(a, "nuc").item(), nuc, tol);
    EXPECT_NEAR(linalg::matrix_norm(a, 2.0).item(), s[0], tol);
    EXPECT_NEAR(linalg::matrix_norm(a, -2.0).item(), s.back(), tol);
  }
  const Tensor b = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(linalg::matrix_norm(b, "nuc", true).shape(), Shape({2, 3, 1, 1}));
  EXPECT_EQ(linalg::matrix_norm(b, 2.0).shape(), Shape({2, 3}));
  EXPECT_EQ(linalg::matrix_norm(b, -2.0, true).shape(), Shape({2, 3, 1, 1}));
  EXPECT_EQ(linalg::matrix_norm(Tensor::zeros({0, 3}), "nuc").item(), 0.0);
  EXPECT_EQ(test::error_of([] {
              linalg::matrix_norm(Tensor::zeros({0, 3}), 2.0);
            }),
            "matrix_norm: ord 2 of an empty matrix [0, 3]");
}

// gelsd against LAPACK's dgelsd: full rank (tall, square, wide: minimum norm) and rank deficient.
TEST(Lstsq, GelsdMatchesLapack) {
  Generator g(11);
  for (const Case& c : general_cases()) {
    SCOPED_TRACE(c.name);
    if (c.name.rfind("ill", 0) == 0 || c.name.rfind("graded", 0) == 0) continue;
    const int64_t m = c.m, n = c.n, k = 3;
    const Mat b = randn(m, k, g);
    const double rcond = 1e-10;
    Mat a_lap = c.a, b_lap(static_cast<size_t>(std::max(m, n) * k), 0.0);
    for (int64_t i = 0; i < m * k; ++i) b_lap[i] = b[i];
    std::vector<double> s_lap(static_cast<size_t>(std::min(m, n)));
    lapack_int rank_lap = 0;
    ASSERT_EQ(LAPACKE_dgelsd(LAPACK_ROW_MAJOR, m, n, k, a_lap.data(), n, b_lap.data(), k,
                             s_lap.data(), rcond, &rank_lap),
              0);
    const linalg::Lstsq r =
        linalg::lstsq(tensor_of(c.a, m, n, DType::f64), tensor_of(b, m, k, DType::f64), rcond);
    EXPECT_EQ(r.rank.item(), rank_lap);
    const Mat x = mat_of(r.solution);
    ASSERT_EQ(r.solution.shape(), Shape({n, k}));
    const Mat x_lap(b_lap.begin(), b_lap.begin() + n * k);
    EXPECT_LE(max_abs_diff(x, x_lap), 1e-9 * std::max(1.0, fro(x_lap)));
    EXPECT_LE(max_abs_diff(mat_of(r.singular_values), s_lap), 1e-12 * std::max(1.0, s_lap[0]));
    if (m > n && rank_lap == n) {
      ASSERT_EQ(r.residuals.shape(), Shape({k}));
      for (int64_t j = 0; j < k; ++j) {
        double res = 0;
        for (int64_t i = n; i < m; ++i) res += b_lap[i * k + j] * b_lap[i * k + j];
        EXPECT_NEAR(r.residuals.get({j}), res, 1e-9 * std::max(1.0, res));
      }
    } else {
      EXPECT_EQ(r.residuals.numel(), 0);
    }
  }
}

TEST(Lstsq, GelsdBatchesBroadcastAndVectors) {
  Generator g(12);
  const Tensor a = Tensor::randn({2, 1, 6, 4}, g, DType::f64);
  const Tensor b = Tensor::randn({3, 6, 2}, g, DType::f64);
  const linalg::Lstsq r = linalg::lstsq(a, b);
  ASSERT_EQ(r.solution.shape(), Shape({2, 3, 4, 2}));
  ASSERT_EQ(r.rank.shape(), Shape({2, 3}));
  ASSERT_EQ(r.residuals.shape(), Shape({2, 3, 2}));
  const Mat one = mat_of(linalg::lstsq(a[1][0], b[2]).solution);
  EXPECT_LE(max_abs_diff(one, mat_of(r.solution[1][2])), 1e-12);
  const Tensor v = Tensor::randn({6}, g, DType::f64);
  const linalg::Lstsq rv = linalg::lstsq(a[0][0], v);
  EXPECT_EQ(rv.solution.shape(), Shape({4}));
  const Mat gels = mat_of(linalg::lstsq(a[0][0], v, {}, "gels").solution);
  EXPECT_LE(max_abs_diff(mat_of(rv.solution), gels), 1e-12);
}

}  // namespace
}  // namespace affine
