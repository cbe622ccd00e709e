// The symmetric eigenproblem's kernels (tridiagonal.hpp).
#include "linalg/tridiagonal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "linalg/householder.hpp"
#include "linalg/reflector_sequence.hpp"
#include "linalg/rotations.hpp"

namespace affine::detail::linalg {

// sytd2 (lower): reflector i zeroes A(i+2:n, i); the trailing matrix gets the symmetric rank-2
// update A22 -= v w^T + w v^T with w = tau A22 v - (tau^2 / 2)(v^T A22 v) v.
template <class T>
void reduce_to_tridiagonal(int64_t n, T* a, int64_t lda, T* d, T* e, T* tau) {
  auto A = [&](int64_t i, int64_t j) -> T& { return a[i + j * lda]; };
  std::vector<T> w(static_cast<size_t>(std::max<int64_t>(n, 1)));
  for (int64_t i = 0; i + 1 < n; ++i) {
    const int64_t k = n - i - 1;  // length of v
    T alpha = A(i + 1, i);
    const T taui = larfg(k, alpha, k > 1 ? &A(i + 2, i) : nullptr, int64_t{1});
    e[i] = alpha;
    if (taui != T(0)) {
      A(i + 1, i) = T(1);
      const T* v = &A(i + 1, i);
      T* a22 = &A(i + 1, i + 1);
      // w = taui * A22 v, A22 symmetric with its lower triangle stored.
      for (int64_t r = 0; r < k; ++r) w[r] = 0;
      for (int64_t j = 0; j < k; ++j) {
        const T* col = a22 + j * lda;
        const T vj = v[j];
        T dot = 0;
        w[j] += col[j] * vj;
        for (int64_t r = j + 1; r < k; ++r) {
          w[r] += col[r] * vj;
          dot += col[r] * v[r];
        }
        w[j] += dot;
      }
      T vw = 0;
      for (int64_t r = 0; r < k; ++r) {
        w[r] *= taui;
        vw += w[r] * v[r];
      }
      const T alpha2 = T(-0.5) * taui * vw;
      for (int64_t r = 0; r < k; ++r) w[r] += alpha2 * v[r];
      for (int64_t j = 0; j < k; ++j) {
        T* col = a22 + j * lda;
        const T vj = v[j], wj = w[j];
        for (int64_t r = j; r < k; ++r) col[r] -= v[r] * wj + w[r] * vj;
      }
      A(i + 1, i) = e[i];
    }
    d[i] = A(i, i);
    tau[i] = taui;
  }
  if (n > 0) d[n - 1] = A(n - 1, n - 1);
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
        T r = std::hypot(p, T(1));
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
          r = std::hypot(p, e[i]);
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
