// Householder building blocks (tensor/src/linalg/householder.hpp): a reflector maps its vector
// onto a multiple of e_0 and is orthogonal; the compact-WY block (larft + larfb) equals applying
// the reflectors one by one, from either side, transposed or not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "linalg/householder.hpp"

namespace {

using affine::detail::linalg::larf_left;
using affine::detail::linalg::larf_right;
using affine::detail::linalg::larfb;
using affine::detail::linalg::larfg;
using affine::detail::linalg::larft;
using affine::detail::linalg::Mat;
using affine::detail::linalg::rowmajor;
using affine::detail::linalg::Side;

template <class T>
std::vector<T> random_vec(int64_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d;
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

template <class T>
void check_larfg(int64_t n, double scale) {
  std::vector<T> x = random_vec<T>(n, 7);
  for (auto& e : x) e = static_cast<T>(e * scale);
  const std::vector<T> x0 = x;
  T alpha = x[0];
  const T tau = larfg<T>(n, alpha, x.data() + 1, 1);
  // Apply H = I - tau v v^T to the original vector: [beta, 0, ...].
  std::vector<T> v = x;
  v[0] = 1;
  long double vx = 0, norm0 = 0;
  for (int64_t i = 0; i < n; ++i) {
    vx += static_cast<long double>(v[i]) * x0[i];
    norm0 += static_cast<long double>(x0[i]) * x0[i];
  }
  const double eps = std::numeric_limits<T>::epsilon();
  const double nrm = static_cast<double>(std::sqrt(norm0));
  for (int64_t i = 0; i < n; ++i) {
    const double hx = static_cast<double>(x0[i] - static_cast<long double>(tau) * vx * v[i]);
    const double want = i == 0 ? static_cast<double>(alpha) : 0.0;
    EXPECT_NEAR(hx, want, 10 * n * eps * nrm) << "n=" << n << " i=" << i << " scale=" << scale;
  }
  EXPECT_NEAR(std::abs(static_cast<double>(alpha)), nrm, 10 * n * eps * nrm);
}

TEST(Householder, LarfgAnnihilatesTheTail) {
  for (int64_t n : {1, 2, 3, 17, 100}) {
    for (double scale : {1.0, 1e-200, 1e200}) check_larfg<double>(n, scale);
    for (double scale : {1.0, 1e-30, 1e30}) check_larfg<float>(n, scale);
  }
}

TEST(Householder, LarfgOfAZeroTailIsTheIdentity) {
  std::vector<double> x{3.0, 0.0, 0.0};
  double alpha = x[0];
  EXPECT_EQ(larfg<double>(3, alpha, x.data() + 1, 1), 0.0);
  EXPECT_EQ(alpha, 3.0);
}

// Generates k reflectors in the columns of an m x k V (as geqr2 would) and checks that larfb
// with the larft T equals applying them one by one with larf, for each side and transpose.
template <class T>
void check_block(int64_t m, int64_t k, int64_t n) {
  std::vector<T> vbuf = random_vec<T>(m * k, 11);
  std::vector<T> tau(static_cast<size_t>(k));
  Mat<T> v = rowmajor(vbuf.data(), m, k, k);
  for (int64_t j = 0; j < k; ++j)
    tau[j] = larfg<T>(m - j, v(j, j), &v(std::min(j + 1, m - 1), j), k);
  std::vector<T> tbuf(static_cast<size_t>(k * k), T(7));
  Mat<T> t = rowmajor(tbuf.data(), k, k, k);
  larft<T>(v, tau.data(), t);
  const double tol = 20.0 * (m + n) * std::numeric_limits<T>::epsilon();
  for (Side side : {Side::left, Side::right}) {
    for (bool transpose : {false, true}) {
      const int64_t rows = side == Side::left ? m : n, cols = side == Side::left ? n : m;
      std::vector<T> c1 = random_vec<T>(rows * cols, 13), c2 = c1;
      std::vector<T> work(static_cast<size_t>(m + n));
      Mat<T> a = rowmajor(c1.data(), rows, cols, cols);
      // H = H_0 ... H_{k-1}. Left: H C applies H_{k-1} first; H^T C applies H_0 first.
      // Right: C H applies H_0 first; C H^T applies H_{k-1} first.
      const bool forward = (side == Side::left) == transpose;
      for (int64_t s = 0; s < k; ++s) {
        const int64_t j = forward ? s : k - 1 - s;
        if (side == Side::left)
          larf_left<T>(tau[j], &v(j, j), k, a.block(j, 0, rows - j, cols), work.data());
        else
          larf_right<T>(tau[j], &v(j, j), k, a.block(0, j, rows, cols - j), work.data());
      }
      larfb<T>(side, transpose, v, t, rowmajor(c2.data(), rows, cols, cols));
      for (size_t i = 0; i < c1.size(); ++i)
        ASSERT_NEAR(c1[i], c2[i], tol)
            << "m=" << m << " k=" << k << " n=" << n << (side == Side::left ? " left" : " right")
            << (transpose ? " transposed" : "") << " at " << i;
    }
  }
}

TEST(Householder, BlockReflectorMatchesOneByOne) {
  check_block<double>(1, 1, 1);
  check_block<double>(5, 3, 4);
  check_block<double>(40, 16, 9);
  check_block<double>(130, 33, 70);
  check_block<float>(40, 16, 9);
  check_block<float>(7, 7, 3);
}

}  // namespace
