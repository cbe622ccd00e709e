// The SVD's kernels (bidiagonal.hpp).
#include "linalg/bidiagonal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "linalg/householder.hpp"
#include "linalg/reflector_sequence.hpp"
#include "linalg/rotations.hpp"

namespace affine::detail::linalg {

// gebd2 (m >= n): H(i) zeroes A(i+1:m, i), then G(i) zeroes A(i, i+2:n).
template <class T>
void reduce_to_bidiagonal(int64_t m, int64_t n, T* a, int64_t lda, T* d, T* e, T* tauq, T* taup) {
  auto A = [&](int64_t i, int64_t j) -> T& { return a[i + j * lda]; };
  std::vector<T> work(static_cast<size_t>(std::max<int64_t>(m, n) + 1));
  for (int64_t i = 0; i < n; ++i) {
    T alpha = A(i, i);
    tauq[i] = larfg(m - i, alpha, i + 1 < m ? &A(i + 1, i) : nullptr, int64_t{1});
    d[i] = alpha;
    if (i + 1 < n) {
      larf_left(tauq[i], &A(i, i), int64_t{1}, Mat<T>{&A(i, i + 1), m - i, n - i - 1, 1, lda},
                work.data());
      alpha = A(i, i + 1);
      taup[i] = larfg(n - i - 1, alpha, i + 2 < n ? &A(i, i + 2) : nullptr, lda);
      e[i] = alpha;
      larf_right(taup[i], &A(i, i + 1), lda, Mat<T>{&A(i + 1, i + 1), m - i - 1, n - i - 1, 1, lda},
                 work.data());
    } else {
      taup[i] = T(0);
    }
  }
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
