// LU, Cholesky and QR kernels on one matrix (see factor.hpp).
#include "linalg/factor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "linalg/blas3.hpp"
#include "linalg/householder.hpp"

namespace affine::detail::linalg {

namespace {

// Panels at most this wide are factored column by column (rank-1 updates inside the panel);
// wider ones are split in two around a TRSM and a GEMM (Toledo's recursive LU, LAPACK's getrf2).
constexpr int64_t kLuBase = 16;
// Cholesky blocks at most this large are factored by dot products.
constexpr int64_t kCholBase = 32;
// Householder QR: reflectors per compact-WY block (the width of the panel factored by level-2
// code before its block reflector updates the rest with GEMM).
constexpr int64_t kQrBlock = 32;

int64_t split_point(int64_t n) { return n >= 16 ? (n / 2 + 7) / 8 * 8 : n / 2; }

template <class T>
void swap_rows(Mat<T> a, int64_t i, int64_t j) {
  if (i == j) return;
  for (int64_t c = 0; c < a.n; ++c) std::swap(a(i, c), a(j, c));
}

template <class T>
int64_t getrf_unblocked(Mat<T> a, int64_t* ipiv) {
  const int64_t mn = std::min(a.m, a.n);
  int64_t info = -1;
  for (int64_t j = 0; j < mn; ++j) {
    int64_t p = j;
    T best = std::abs(a(j, j));
    for (int64_t i = j + 1; i < a.m; ++i) {
      const T v = std::abs(a(i, j));
      if (v > best) {
        best = v;
        p = i;
      }
    }
    ipiv[j] = p;
    swap_rows(a, j, p);
    const T piv = a(j, j);
    if (piv == T(0)) {
      if (info < 0) info = j;
      continue;  // column already zero below the diagonal: nothing to eliminate
    }
    const T rcp = T(1) / piv;
    const bool tiny = std::abs(piv) < std::numeric_limits<T>::min();
    for (int64_t i = j + 1; i < a.m; ++i) {
      T* ai = &a(i, 0);
      const T l = tiny ? a(i, j) / piv : a(i, j) * rcp;  // reciprocal would overflow if tiny
      ai[j * a.cs] = l;
      const T* uj = &a(j, 0);
      for (int64_t c = j + 1; c < a.n; ++c) ai[c * a.cs] -= l * uj[c * a.cs];
    }
  }
  return info;
}

}  // namespace

template <class T>
void laswp(Mat<T> b, const int64_t* ipiv, int64_t k, bool reverse) {
  for (int64_t s = 0; s < k; ++s) {
    const int64_t i = reverse ? k - 1 - s : s;
    swap_rows(b, i, ipiv[i]);
  }
}

template <class T>
int64_t getrf(Mat<T> a, int64_t* ipiv) {
  const int64_t mn = std::min(a.m, a.n);
  if (mn == 0) return -1;
  if (a.n <= kLuBase || mn == 1) return getrf_unblocked(a, ipiv);
  // [A11 A12; A21 A22] with A11 n1 x n1: factor the left panel, swap and solve the right one,
  // update A22 by GEMM, factor it, and bring its row swaps back to the left panel.
  const int64_t n1 = std::min(split_point(mn), mn), n2 = a.n - n1;
  int64_t info = getrf(a.block(0, 0, a.m, n1), ipiv);
  const Mat<T> right = a.block(0, n1, a.m, n2);
  laswp(right, ipiv, n1);
  trsm_left<T>(true, true, a.block(0, 0, n1, n1), right.block(0, 0, n1, n2));
  const Mat<T> a22 = a.block(n1, n1, a.m - n1, n2);
  gemm<T>(T(-1), a.block(n1, 0, a.m - n1, n1), right.block(0, 0, n1, n2), T(1), a22);
  const int64_t info2 = getrf(a22, ipiv + n1);
  laswp(a.block(n1, 0, a.m - n1, n1), ipiv + n1, mn - n1);  // (pivots relative to A22 here)
  for (int64_t i = n1; i < mn; ++i) ipiv[i] += n1;
  if (info < 0 && info2 >= 0) info = info2 + n1;
  return info;
}

template <class T>
int64_t potrf_lower(Mat<T> a) {
  const int64_t n = a.m;
  if (n <= kCholBase) {
    for (int64_t j = 0; j < n; ++j) {
      T d = a(j, j);
      for (int64_t p = 0; p < j; ++p) d -= a(j, p) * a(j, p);
      if (!(d > T(0))) return j + 1;  // also catches NaN
      const T l = std::sqrt(d);
      a(j, j) = l;
      for (int64_t i = j + 1; i < n; ++i) {
        T s = a(i, j);
        for (int64_t p = 0; p < j; ++p) s -= a(i, p) * a(j, p);
        a(i, j) = s / l;
      }
    }
    return 0;
  }
  const int64_t n1 = split_point(n), n2 = n - n1;
  const Mat<T> a11 = a.block(0, 0, n1, n1), a21 = a.block(n1, 0, n2, n1);
  if (const int64_t info = potrf_lower(a11)) return info;
  trsm_left<T>(true, false, a11, a21.t());  // A21 := A21 L11^-T, i.e. L11 A21^T = A21^T
  syrk_lower<T>(T(-1), a21, T(1), a.block(n1, n1, n2, n2));
  if (const int64_t info = potrf_lower(a.block(n1, n1, n2, n2))) return n1 + info;
  return 0;
}

template <class T>
void geqrf(Mat<T> a, T* tau) {
  const int64_t m = a.m, n = a.n, k = std::min(m, n);
  std::vector<T> work(static_cast<size_t>(std::max(m, n)));
  std::vector<T> tbuf(static_cast<size_t>(kQrBlock * kQrBlock));
  for (int64_t j = 0; j < k; j += kQrBlock) {
    const int64_t jb = std::min(kQrBlock, k - j);
    // The panel, one reflector at a time (level 2, LAPACK's geqr2).
    for (int64_t i = j; i < j + jb; ++i) {
      tau[i] = larfg<T>(m - i, a(i, i), &a(std::min(i + 1, m - 1), i), a.rs);
      larf_left<T>(tau[i], &a(i, i), a.rs, a.block(i, i + 1, m - i, j + jb - i - 1), work.data());
    }
    // The rest of the matrix, by the panel's block reflector (level 3).
    if (j + jb < n) {
      const Mat<T> v = a.block(j, j, m - j, jb), t = rowmajor(tbuf.data(), jb, jb, jb);
      larft<T>(v, tau + j, t);
      larfb<T>(Side::left, true, v, t, a.block(j, j + jb, m - j, n - j - jb));
    }
  }
}

template <class T>
void ormqr_left(Mat<const T> v, const T* tau, bool transpose, Mat<T> c) {
  const int64_t m = v.m, k = v.n;
  std::vector<T> tbuf(static_cast<size_t>(kQrBlock * kQrBlock));
  const int64_t nblocks = (k + kQrBlock - 1) / kQrBlock;
  // Q^T C = H_{k-1} ... H_0 C applies the first block first; Q C the last block first.
  for (int64_t s = 0; s < nblocks; ++s) {
    const int64_t b = transpose ? s : nblocks - 1 - s;
    const int64_t j = b * kQrBlock, jb = std::min(kQrBlock, k - j);
    const Mat<const T> vb = v.block(j, j, m - j, jb);
    const Mat<T> t = rowmajor(tbuf.data(), jb, jb, jb);
    larft<T>(vb, tau + j, t);
    larfb<T>(Side::left, transpose, vb, t, c.block(j, 0, m - j, c.n));
  }
}

#define AFFINE_FACTOR_INSTANTIATE(T)                             \
  template int64_t getrf<T>(Mat<T>, int64_t*);                   \
  template void laswp<T>(Mat<T>, const int64_t*, int64_t, bool); \
  template int64_t potrf_lower<T>(Mat<T>);                       \
  template void geqrf<T>(Mat<T>, T*);                            \
  template void ormqr_left<T>(Mat<const T>, const T*, bool, Mat<T>);
AFFINE_FACTOR_INSTANTIATE(float)
AFFINE_FACTOR_INSTANTIATE(double)
#undef AFFINE_FACTOR_INSTANTIATE

}  // namespace affine::detail::linalg
