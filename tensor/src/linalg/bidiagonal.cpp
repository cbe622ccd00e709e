// The SVD's kernels (bidiagonal.hpp).
#include "linalg/bidiagonal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "linalg/householder.hpp"
#include "linalg/leaf.hpp"
#include "linalg/reflector_sequence.hpp"
#include "linalg/rotations.hpp"

namespace affine::detail::linalg {

namespace {

// Column-major views: a rows x cols block with leading dimension ld, and a vector of k elements at
// stride inc (a k x 1 matrix) for the matrix-vector products, which go through the GEMM's
// unpacked small-problem kernels.
template <class T>
Mat<T> cm(T* p, int64_t rows, int64_t cols, int64_t ld) {
  return {p, rows, cols, 1, ld};
}
template <class T>
Mat<T> vec(T* p, int64_t k, int64_t inc = 1) {
  return {p, k, 1, inc, 1};
}

// gebd2 (m >= n): H(i) zeroes A(i+1:m, i), then G(i) zeroes A(i, i+2:n).
template <class T>
void bidiagonal_unblocked(int64_t m, int64_t n, T* a, int64_t lda, T* d, T* e, T* tauq, T* taup) {
  auto A = [&](int64_t i, int64_t j) -> T& { return a[i + j * lda]; };
  std::vector<T> work(static_cast<size_t>(std::max<int64_t>(m, n) + 1));
  for (int64_t i = 0; i < n; ++i) {
    T alpha = A(i, i);
    tauq[i] = larfg(m - i, alpha, i + 1 < m ? &A(i + 1, i) : nullptr, int64_t{1});
    d[i] = alpha;
    if (i + 1 < n) {
      larf_left(tauq[i], &A(i, i), int64_t{1}, cm(&A(i, i + 1), m - i, n - i - 1, lda),
                work.data());
      alpha = A(i, i + 1);
      taup[i] = larfg(n - i - 1, alpha, i + 2 < n ? &A(i, i + 2) : nullptr, lda);
      e[i] = alpha;
      larf_right(taup[i], &A(i, i + 1), lda, cm(&A(i + 1, i + 1), m - i - 1, n - i - 1, lda),
                 work.data());
    } else {
      taup[i] = T(0);
    }
  }
}

// labrd (m >= n): reduces the first nb rows and columns, returning X [m x nb] and Y [n x nb] with
// which the trailing matrix is updated as A22 -= V Y^T + X U^T (two GEMMs, by the caller). Leaves
// the reflectors' unit elements (A(i, i), A(i, i+1)) set to 1.
template <class T>
void bidiagonal_panel(int64_t m, int64_t n, int64_t nb, T* a, int64_t lda, T* d, T* e, T* tauq,
                      T* taup, T* x, int64_t ldx, T* y, int64_t ldy) {
  auto A = [&](int64_t i, int64_t j) -> T& { return a[i + j * lda]; };
  auto X = [&](int64_t i, int64_t j) -> T& { return x[i + j * ldx]; };
  auto Y = [&](int64_t i, int64_t j) -> T& { return y[i + j * ldy]; };
  for (int64_t i = 0; i < nb; ++i) {
    // A(i:m, i) -= A(i:m, 0:i) Y(i, 0:i)^T + X(i:m, 0:i) A(0:i, i)
    gemm<T>(T(-1), cm(&A(i, 0), m - i, i, lda), vec(&Y(i, 0), i, ldy), T(1), vec(&A(i, i), m - i));
    gemm<T>(T(-1), cm(&X(i, 0), m - i, i, ldx), vec(&A(0, i), i), T(1), vec(&A(i, i), m - i));
    T alpha = A(i, i);
    tauq[i] = larfg(m - i, alpha, i + 1 < m ? &A(i + 1, i) : nullptr, int64_t{1});
    d[i] = alpha;
    if (i + 1 >= n) {
      taup[i] = T(0);
      continue;
    }
    A(i, i) = T(1);
    const int64_t rn = n - i - 1, rm = m - i - 1;
    // Y(i+1:n, i) = tauq (A(i:m, i+1:n)^T v - Y(i+1:n, 0:i) V^T v - U(0:i)^T X^T v)
    gemm<T>(T(1), cm(&A(i, i + 1), m - i, rn, lda).t(), vec(&A(i, i), m - i), T(0),
            vec(&Y(i + 1, i), rn));
    gemm<T>(T(1), cm(&A(i, 0), m - i, i, lda).t(), vec(&A(i, i), m - i), T(0), vec(&Y(0, i), i));
    gemm<T>(T(-1), cm(&Y(i + 1, 0), rn, i, ldy), vec(&Y(0, i), i), T(1), vec(&Y(i + 1, i), rn));
    gemm<T>(T(1), cm(&X(i, 0), m - i, i, ldx).t(), vec(&A(i, i), m - i), T(0), vec(&Y(0, i), i));
    gemm<T>(T(-1), cm(&A(0, i + 1), i, rn, lda).t(), vec(&Y(0, i), i), T(1), vec(&Y(i + 1, i), rn));
    for (int64_t r = i + 1; r < n; ++r) Y(r, i) *= tauq[i];
    // A(i, i+1:n) -= Y(i+1:n, 0:i+1) A(i, 0:i+1)^T + U(0:i, i+1:n)^T X(i, 0:i)^T
    gemm<T>(T(-1), cm(&Y(i + 1, 0), rn, i + 1, ldy), vec(&A(i, 0), i + 1, lda), T(1),
            vec(&A(i, i + 1), rn, lda));
    gemm<T>(T(-1), cm(&A(0, i + 1), i, rn, lda).t(), vec(&X(i, 0), i, ldx), T(1),
            vec(&A(i, i + 1), rn, lda));
    alpha = A(i, i + 1);
    taup[i] = larfg(rn, alpha, i + 2 < n ? &A(i, i + 2) : nullptr, lda);
    e[i] = alpha;
    A(i, i + 1) = T(1);
    // X(i+1:m, i) = taup (A(i+1:m, i+1:n) u - V(i+1:m, 0:i+1) Y^T u - X(i+1:m, 0:i) U u)
    leaf_kernels<T>().gemv_columns(rm, rn, &A(i + 1, i + 1), lda, &A(i, i + 1), lda, false,
                                   &X(i + 1, i));
    gemm<T>(T(1), cm(&Y(i + 1, 0), rn, i + 1, ldy).t(), vec(&A(i, i + 1), rn, lda), T(0),
            vec(&X(0, i), i + 1));
    gemm<T>(T(-1), cm(&A(i + 1, 0), rm, i + 1, lda), vec(&X(0, i), i + 1), T(1),
            vec(&X(i + 1, i), rm));
    gemm<T>(T(1), cm(&A(0, i + 1), i, rn, lda), vec(&A(i, i + 1), rn, lda), T(0), vec(&X(0, i), i));
    gemm<T>(T(-1), cm(&X(i + 1, 0), rm, i, ldx), vec(&X(0, i), i), T(1), vec(&X(i + 1, i), rm));
    for (int64_t r = i + 1; r < m; ++r) X(r, i) *= taup[i];
  }
}

}  // namespace

// gebrd (m >= n): panels of kPanel rows and columns by bidiagonal_panel, each followed by the
// trailing update A22 -= V Y^T + X U^T in the GEMM; the last kCrossover columns unblocked.
template <class T>
void reduce_to_bidiagonal(int64_t m, int64_t n, T* a, int64_t lda, T* d, T* e, T* tauq, T* taup) {
  constexpr int64_t kPanel = 32, kCrossover = 128;
  auto A = [&](int64_t i, int64_t j) -> T& { return a[i + j * lda]; };
  int64_t i = 0;
  if (n > kCrossover) {
    std::vector<T> x(static_cast<size_t>(m * kPanel)), y(static_cast<size_t>(n * kPanel));
    for (; i + kCrossover < n; i += kPanel) {
      const int64_t pm = m - i, pn = n - i;
      bidiagonal_panel(pm, pn, kPanel, &A(i, i), lda, d + i, e + i, tauq + i, taup + i, x.data(),
                       pm, y.data(), pn);
      const Mat<T> a22 = cm(&A(i + kPanel, i + kPanel), pm - kPanel, pn - kPanel, lda);
      gemm<T>(T(-1), cm(&A(i + kPanel, i), pm - kPanel, kPanel, lda),
              cm(y.data() + kPanel, pn - kPanel, kPanel, pn).t(), T(1), a22);
      gemm<T>(T(-1), cm(x.data() + kPanel, pm - kPanel, kPanel, pm),
              cm(&A(i, i + kPanel), kPanel, pn - kPanel, lda), T(1), a22);
      for (int64_t j = i; j < i + kPanel; ++j) {
        A(j, j) = d[j];
        A(j, j + 1) = e[j];
      }
    }
  }
  bidiagonal_unblocked(m - i, n - i, &A(i, i), lda, d + i, e + i, tauq + i, taup + i);
}

template <class T>
void apply_bidiagonal_q(int64_t m, int64_t n, const T* a, int64_t lda, const T* tauq, T* u,
                        int64_t ncols, int64_t ldu) {
  apply_reflectors(n, m, 0, a, lda, int64_t{1}, tauq, Mat<T>{u, m, ncols, 1, ldu});
}

template <class T>
void apply_bidiagonal_p(int64_t n, const T* a, int64_t lda, const T* taup, T* v, int64_t ncols,
                        int64_t ldv) {
  apply_reflectors(n - 1, n, 1, a, lda, lda, taup, Mat<T>{v, n, ncols, 1, ldv});
}

// LINPACK's dsvdc iteration (as in JAMA), on s = d and e. Each pass finds the trailing unreduced
// block [k, p) and does one of: deflate a negligible s[p-1] (rotations from the right), split at
// a negligible s[k-1] (from the left), one implicit-shift QR step, or accept a converged s[p-1].
template <class T>
bool bidiagonal_qr(int64_t n, T* s, T* e, T* u, int64_t ldu, T* v, int64_t ldv) {
  if (n == 0) return true;
  RotationLog<T> ulog(u, n, n, ldu);
  RotationLog<T> vlog(v, n, n, ldv);
  std::vector<int64_t> flip;
  e[n - 1] = 0;
  const T eps = std::numeric_limits<T>::epsilon();
  const T tiny = std::numeric_limits<T>::min() / eps;
  int64_t p = n;
  int iter = 0;
  while (p > 0) {
    if (iter > 75) return false;
    int64_t k;
    int kase;
    for (k = p - 2; k >= 0; --k) {
      if (std::abs(e[k]) <= tiny + eps * (std::abs(s[k]) + std::abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    }
    if (k == p - 2) {
      kase = 4;
    } else {
      int64_t ks;
      for (ks = p - 1; ks > k; --ks) {
        const T t = std::abs(e[ks]) + (ks != k + 1 ? std::abs(e[ks - 1]) : T(0));
        if (std::abs(s[ks]) <= tiny + eps * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks == k) {
        kase = 3;
      } else if (ks == p - 1) {
        kase = 1;
      } else {
        kase = 2;
        k = ks;
      }
    }
    ++k;
    switch (kase) {
      case 1: {  // s[p-1] negligible: chase e[p-2] out with rotations on columns (j, p-1) of V
        T f = e[p - 2];
        e[p - 2] = 0;
        vlog.begin(SweepKind::pivot_down, p - 2, p - 1);
        for (int64_t j = p - 2; j >= k; --j) {
          const T t = std::hypot(s[j], f);
          const T cs = s[j] / t, sn = f / t;
          s[j] = t;
          if (j != k) {
            f = -sn * e[j - 1];
            e[j - 1] = cs * e[j - 1];
          }
          vlog.push(cs, sn);
        }
        vlog.end();
        break;
      }
      case 2: {  // s[k-1] negligible: split, rotations on columns (j, k-1) of U
        T f = e[k - 1];
        e[k - 1] = 0;
        ulog.begin(SweepKind::pivot_up, k, k - 1);
        for (int64_t j = k; j < p; ++j) {
          const T t = std::hypot(s[j], f);
          const T cs = s[j] / t, sn = f / t;
          s[j] = t;
          f = -sn * e[j];
          e[j] = cs * e[j];
          ulog.push(cs, sn);
        }
        ulog.end();
        break;
      }
      case 3: {  // one QR step on [k, p) with the shift from the trailing 2 x 2 of B^T B
        const T scale = std::max({std::abs(s[p - 1]), std::abs(s[p - 2]), std::abs(e[p - 2]),
                                  std::abs(s[k]), std::abs(e[k])});
        const T sp = s[p - 1] / scale, spm1 = s[p - 2] / scale, epm1 = e[p - 2] / scale;
        const T sk = s[k] / scale, ek = e[k] / scale;
        const T b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / T(2);
        const T c = (sp * epm1) * (sp * epm1);
        T shift = 0;
        if (b != T(0) || c != T(0)) {
          shift = std::sqrt(b * b + c);
          if (b < 0) shift = -shift;
          shift = c / (b + shift);
        }
        T f = (sk + sp) * (sk - sp) + shift;
        T g = sk * ek;
        vlog.begin(SweepKind::up, k);
        ulog.begin(SweepKind::up, k);
        for (int64_t j = k; j < p - 1; ++j) {
          T t = std::hypot(f, g);
          T cs = f / t, sn = g / t;
          if (j != k) e[j - 1] = t;
          f = cs * s[j] + sn * e[j];
          e[j] = cs * e[j] - sn * s[j];
          g = sn * s[j + 1];
          s[j + 1] = cs * s[j + 1];
          vlog.push(cs, sn);
          t = std::hypot(f, g);
          cs = f / t;
          sn = g / t;
          s[j] = t;
          f = cs * e[j] + sn * s[j + 1];
          s[j + 1] = -sn * e[j] + cs * s[j + 1];
          g = sn * e[j + 1];
          e[j + 1] = cs * e[j + 1];
          ulog.push(cs, sn);
        }
        vlog.end();
        ulog.end();
        e[p - 2] = f;
        ++iter;
        break;
      }
      default: {  // s[k] converged: make it non-negative (its V column flips at the end)
        if (s[k] <= 0) {
          s[k] = s[k] < 0 ? -s[k] : T(0);
          flip.push_back(k);
        }
        iter = 0;
        --p;
        break;
      }
    }
  }
  ulog.finish();
  vlog.finish();
  // A converged column is never rotated again (p only shrinks), so its flip can wait until now.
  if (v != nullptr) {
    for (int64_t k : flip) {
      for (int64_t r = 0; r < n; ++r) v[r + k * ldv] = -v[r + k * ldv];
    }
  }
  return true;
}

template void reduce_to_bidiagonal(int64_t, int64_t, float*, int64_t, float*, float*, float*,
                                   float*);
template void reduce_to_bidiagonal(int64_t, int64_t, double*, int64_t, double*, double*, double*,
                                   double*);
template void apply_bidiagonal_q(int64_t, int64_t, const float*, int64_t, const float*, float*,
                                 int64_t, int64_t);
template void apply_bidiagonal_q(int64_t, int64_t, const double*, int64_t, const double*, double*,
                                 int64_t, int64_t);
template void apply_bidiagonal_p(int64_t, const float*, int64_t, const float*, float*, int64_t,
                                 int64_t);
template void apply_bidiagonal_p(int64_t, const double*, int64_t, const double*, double*, int64_t,
                                 int64_t);
template bool bidiagonal_qr(int64_t, float*, float*, float*, int64_t, float*, int64_t);
template bool bidiagonal_qr(int64_t, double*, double*, double*, int64_t, double*, int64_t);

}  // namespace affine::detail::linalg
