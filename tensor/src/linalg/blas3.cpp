// Recursive TRSM and SYRK on the packed GEMM (see blas3.hpp).
#include "linalg/blas3.hpp"

#include <algorithm>
#include <vector>

namespace affine::detail::linalg {

namespace {

// Below this many rows the triangle is solved with loops; above, it is split for a GEMM.
constexpr int64_t kTrsmBase = 32;
constexpr int64_t kSyrkBase = 64;

// Where to split n rows: a multiple of 8 near the middle, so GEMM blocks stay register-aligned.
int64_t split_point(int64_t n) { return n >= 16 ? (n / 2 + 7) / 8 * 8 : n / 2; }

template <class T>
void trsm_base(bool lower, bool unit, Mat<const T> a, Mat<T> b) {
  const int64_t n = a.m, k = b.n;
  if (b.cs == 1) {
    // Rows of B contiguous: each row of X is its row of B minus multiples of the rows solved.
    for (int64_t s = 0; s < n; ++s) {
      const int64_t i = lower ? s : n - 1 - s;
      T* bi = b.p + i * b.rs;
      const int64_t p0 = lower ? 0 : i + 1, p1 = lower ? i : n;
      for (int64_t p = p0; p < p1; ++p) {
        const T aip = a(i, p);
        const T* bp = b.p + p * b.rs;
        for (int64_t j = 0; j < k; ++j) bi[j] -= aip * bp[j];
      }
      if (!unit) {
        const T d = a(i, i);
        for (int64_t j = 0; j < k; ++j) bi[j] /= d;
      }
    }
    return;
  }
  // Otherwise one column of B at a time, each element a dot product with a row of A.
  for (int64_t j = 0; j < k; ++j) {
    T* x = b.p + j * b.cs;
    for (int64_t s = 0; s < n; ++s) {
      const int64_t i = lower ? s : n - 1 - s;
      const int64_t p0 = lower ? 0 : i + 1, p1 = lower ? i : n;
      T sum = x[i * b.rs];
      for (int64_t p = p0; p < p1; ++p) sum -= a(i, p) * x[p * b.rs];
      x[i * b.rs] = unit ? sum : sum / a(i, i);
    }
  }
}

}  // namespace

template <class T>
void trsm_left(bool lower, bool unit, Mat<const T> a, Mat<T> b) {
  const int64_t n = a.m;
  if (n == 0 || b.n == 0) return;
  if (n <= kTrsmBase) {
    trsm_base(lower, unit, a, b);
    return;
  }
  const int64_t n1 = split_point(n), n2 = n - n1;
  const Mat<T> b1 = b.block(0, 0, n1, b.n), b2 = b.block(n1, 0, n2, b.n);
  const Mat<const T> a11 = a.block(0, 0, n1, n1), a22 = a.block(n1, n1, n2, n2);
  if (lower) {
    trsm_left(lower, unit, a11, b1);
    gemm<T>(T(-1), a.block(n1, 0, n2, n1), b1, T(1), b2);
    trsm_left(lower, unit, a22, b2);
  } else {
    trsm_left(lower, unit, a22, b2);
    gemm<T>(T(-1), a.block(0, n1, n1, n2), b2, T(1), b1);
    trsm_left(lower, unit, a11, b1);
  }
}

template <class T>
void syrk_lower(T alpha, Mat<const T> a, T beta, Mat<T> c) {
  const int64_t n = c.m;
  if (n == 0) return;
  if (n <= kSyrkBase) {
    // The full square through GEMM into scratch, then only its lower triangle into C.
    std::vector<T> tmp(static_cast<size_t>(n * n));
    const Mat<T> t = rowmajor(tmp.data(), n, n, n);
    gemm<T>(alpha, a, a.t(), T(0), t);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) c(i, j) = t(i, j) + (beta == T(0) ? T(0) : beta * c(i, j));
    return;
  }
  const int64_t n1 = split_point(n), n2 = n - n1;
  syrk_lower(alpha, a.block(0, 0, n1, a.n), beta, c.block(0, 0, n1, n1));
  gemm<T>(alpha, a.block(n1, 0, n2, a.n), a.block(0, 0, n1, a.n).t(), beta, c.block(n1, 0, n2, n1));
  syrk_lower(alpha, a.block(n1, 0, n2, a.n), beta, c.block(n1, n1, n2, n2));
}

template void trsm_left<float>(bool, bool, Mat<const float>, Mat<float>);
template void trsm_left<double>(bool, bool, Mat<const double>, Mat<double>);
template void syrk_lower<float>(float, Mat<const float>, float, Mat<float>);
template void syrk_lower<double>(double, Mat<const double>, double, Mat<double>);

}  // namespace affine::detail::linalg
