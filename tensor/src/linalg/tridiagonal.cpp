// The symmetric eigenproblem's kernels (tridiagonal.hpp).
#include "linalg/tridiagonal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "linalg/blas3.hpp"
#include "linalg/householder.hpp"
#include "linalg/leaf.hpp"
#include "linalg/matview.hpp"
#include "linalg/reflector_sequence.hpp"
#include "linalg/rotations.hpp"

namespace affine::detail::linalg {

namespace {

// latrd (lower): reduces the first w columns of the N x N symmetric matrix at a (column-major,
// lower triangle), touching of the rest only what the reflectors read. Instead of updating the
// trailing matrix after every reflector (two passes over it per column, as sytd2 does), it builds
// W (N x w, column-major, ldw) with the trailing update being A22 -= V W^T + W V^T, applied once
// per panel by the caller as a SYR2K on the GEMM. What stays level-2 is one symmetric
// matrix-vector product per column (reading the trailing triangle once), corrected by the panel's
// earlier reflectors through skinny GEMMs. On return the reflectors sit below the subdiagonal
// with A(c + 1, c) = 1 (the caller restores it to e[c] after the trailing update), the panel's
// diagonal is final, tau [w] holds their factors; tmp has w entries.
template <class T>
void tridiagonal_panel(int64_t N, int64_t w, T* a, int64_t lda, T* e, T* tau, T* wp, int64_t ldw,
                       T* tmp) {
  const Mat<T> A{a, N, N, 1, lda}, W{wp, N, w, 1, ldw};
  const auto& leaf = leaf_kernels<T>();
  // The skinny products below are matrix-vector products with c <= w columns: per-ISA leaf loops
  // (gemv_columns, gemv_dots) rather than GEMM calls, whose set-up is most of their cost here.
  for (int64_t c = 0; c < w; ++c) {
    if (c >
        0) {  // bring column c up to date: A(c:, c) -= V(c:, :c) W(c, :c)^T + W(c:, :c) V(c, :c)^T
      for (int64_t q = 0; q < c; ++q) tmp[q] = -W(c, q);
      leaf.gemv_columns(N - c, c, &A(c, 0), lda, tmp, 1, true, &A(c, c));
      for (int64_t q = 0; q < c; ++q) tmp[q] = -A(c, q);
      leaf.gemv_columns(N - c, c, &W(c, 0), ldw, tmp, 1, true, &A(c, c));
    }
    const int64_t k = N - c - 1;  // length of v
    T alpha = A(c + 1, c);
    const T t = larfg(k, alpha, k > 1 ? &A(c + 2, c) : nullptr, int64_t{1});
    e[c] = alpha;
    tau[c] = t;
    A(c + 1, c) = T(1);
    T* v = &A(c + 1, c);
    T* y = &W(c + 1, c);
    // y = A22 v with A22 the trailing matrix as the panel's earlier reflectors would leave it:
    // the stored (stale) A22 v, minus V W^T v + W V^T v over those reflectors.
    leaf.symv_lower(k, &A(c + 1, c + 1), lda, v, y);
    if (c > 0) {
      leaf.gemv_dots(k, c, &W(c + 1, 0), ldw, v, tmp);
      for (int64_t q = 0; q < c; ++q) tmp[q] = -tmp[q];
      leaf.gemv_columns(k, c, &A(c + 1, 0), lda, tmp, 1, true, y);
      leaf.gemv_dots(k, c, &A(c + 1, 0), lda, v, tmp);
      for (int64_t q = 0; q < c; ++q) tmp[q] = -tmp[q];
      leaf.gemv_columns(k, c, &W(c + 1, 0), ldw, tmp, 1, true, y);
    }
    // w = tau y - (tau^2 / 2)(v^T y) v, so that H A22 H = A22 - v w^T - w v^T.
    T vy = 0;
    for (int64_t r = 0; r < k; ++r) {
      y[r] *= t;
      vy += y[r] * v[r];
    }
    const T half = T(-0.5) * t * vy;
    for (int64_t r = 0; r < k; ++r) y[r] += half * v[r];
  }
}

}  // namespace

// sytrd (lower): panels of kPanel columns by tridiagonal_panel, each followed by the trailing
// update A22 -= V W^T + W V^T as one SYR2K (blas3.hpp), where half of the reduction's flops run in
// the packed micro-kernel. The panel width is LAPACK's default (ilaenv's 32 for sytrd), not
// tuned here: it trades the panel's skinny level-2 corrections against the GEMMs' depth.
template <class T>
void reduce_to_tridiagonal(int64_t n, T* a, int64_t lda, T* d, T* e, T* tau) {
  constexpr int64_t kPanel = 32;
  std::vector<T> wbuf(static_cast<size_t>(std::max<int64_t>(n, 1) * kPanel));
  std::vector<T> tmp(static_cast<size_t>(kPanel));
  for (int64_t i0 = 0; i0 + 1 < n; i0 += kPanel) {
    const int64_t N = n - i0, w = std::min(kPanel, N - 1);
    const Mat<T> A{a + i0 * (1 + lda), N, N, 1, lda}, W{wbuf.data(), N, w, 1, N};
    tridiagonal_panel(N, w, A.p, lda, e + i0, tau + i0, W.p, N, tmp.data());
    syr2k_lower<T>(T(-1), A.block(w, 0, N - w, w), W.block(w, 0, N - w, w), T(1),
                   A.block(w, w, N - w, N - w));
    for (int64_t c = 0; c < w; ++c) {
      A(c + 1, c) = e[i0 + c];
      d[i0 + c] = A(c, c);
    }
  }
  if (n > 0) d[n - 1] = a[(n - 1) * (1 + lda)];
}

template <class T>
void apply_tridiagonal_q(int64_t n, const T* a, int64_t lda, const T* tau, T* z, int64_t ncols,
                         int64_t ldz) {
  apply_reflectors(n - 1, n, 1, a, lda, int64_t{1}, tau, Mat<T>{z, n, ncols, 1, ldz});
}

// EISPACK's tql2 (as in JAMA): implicit QL with Wilkinson's shift, deflating when a subdiagonal
// element falls below eps times the largest |d| + |e| seen (a normwise criterion: backward stable).
template <class T>
bool tridiagonal_ql(int64_t n, T* d, T* e, T* z, int64_t ldz) {
  if (n <= 1) return true;
  RotationLog<T> log(z, n, n, ldz);
  e[n - 1] = 0;
  const T eps = std::numeric_limits<T>::epsilon();
  T f = 0, tst1 = 0;
  for (int64_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::abs(d[l]) + std::abs(e[l]));
    int64_t m = l;
    while (m < n - 1 && std::abs(e[m]) > eps * tst1) ++m;
    if (m > l) {
      int iter = 0;
      do {
        if (++iter > 60) return false;
        // Shift from the leading 2 x 2 block.
        T g = d[l];
        T p = (d[l + 1] - g) / (T(2) * e[l]);
        T r = rotation_length(p, T(1));
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const T dl1 = d[l + 1];
        T h = g - d[l];
        for (int64_t i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        // The implicit QL sweep from m - 1 up to l.
        p = d[m];
        T c = 1, c2 = 1, c3 = 1;
        const T el1 = e[l + 1];
        T s = 0, s2 = 0;
        log.begin(SweepKind::down, m - 1);
        for (int64_t i = m - 1; i >= l; --i) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = rotation_length(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          log.push(c, -s);
        }
        log.end();
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  log.finish();
  return true;
}

template void reduce_to_tridiagonal(int64_t, float*, int64_t, float*, float*, float*);
template void reduce_to_tridiagonal(int64_t, double*, int64_t, double*, double*, double*);
template void apply_tridiagonal_q(int64_t, const float*, int64_t, const float*, float*, int64_t,
                                  int64_t);
template void apply_tridiagonal_q(int64_t, const double*, int64_t, const double*, double*, int64_t,
                                  int64_t);
template bool tridiagonal_ql(int64_t, float*, float*, float*, int64_t);
template bool tridiagonal_ql(int64_t, double*, double*, double*, int64_t);

}  // namespace affine::detail::linalg
