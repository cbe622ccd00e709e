// Internal: one Householder reflector H = I - tau v v^T (LAPACK's larfg and larf), column-major.
// The unblocked building block of the tridiagonal and bidiagonal reductions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace affine::detail::linalg {

/// ||x||_2 of n elements at stride inc, without overflow or harmful underflow.
template <class T>
T nrm2(int64_t n, const T* x, int64_t inc) {
  T big = 0;
  for (int64_t i = 0; i < n; ++i) big = std::max(big, std::abs(x[i * inc]));
  if (big == 0 || !std::isfinite(big)) return big;
  // Scaling by the largest element keeps the sum of squares in [1, n]: one extra multiply.
  const T inv = T(1) / big;
  T sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T y = x[i * inc] * inv;
    sum += y * y;
  }
  return big * std::sqrt(sum);
}

/// larfg: generates H with H^T [alpha; x] = [beta; 0] (x has n - 1 elements at stride inc).
/// Overwrites alpha with beta and x with v[1:] (v[0] = 1 is implicit); returns tau (0 when x is
/// already zero, H = I).
template <class T>
T make_reflector(int64_t n, T& alpha, T* x, int64_t inc) {
  if (n <= 1) return T(0);
  T xnorm = nrm2(n - 1, x, inc);
  if (xnorm == 0) return T(0);
  T beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
  // Tiny columns: rescale so 1 / (alpha - beta) cannot overflow (as LAPACK's larfg).
  const T safmin = std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon();
  int rescaled = 0;
  while (std::abs(beta) < safmin && rescaled < 20) {
    const T up = T(1) / safmin;
    for (int64_t i = 0; i < n - 1; ++i) x[i * inc] *= up;
    beta *= up;
    alpha *= up;
    ++rescaled;
  }
  if (rescaled > 0) {
    xnorm = nrm2(n - 1, x, inc);
    beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
  }
  const T tau = (beta - alpha) / beta;
  const T scale = T(1) / (alpha - beta);
  for (int64_t i = 0; i < n - 1; ++i) x[i * inc] *= scale;
  for (int i = 0; i < rescaled; ++i) beta *= safmin;
  alpha = beta;
  return tau;
}

/// C := H C for C [m x n] (leading dimension ldc), v [m] at stride incv with v[0] stored as 1.
template <class T>
void reflect_left(int64_t m, int64_t n, T tau, const T* v, int64_t incv, T* c, int64_t ldc) {
  if (tau == 0) return;
  for (int64_t j = 0; j < n; ++j) {
    T* cj = c + j * ldc;
    T w = 0;
    for (int64_t i = 0; i < m; ++i) w += v[i * incv] * cj[i];
    w *= tau;
    for (int64_t i = 0; i < m; ++i) cj[i] -= w * v[i * incv];
  }
}

/// C := C H for C [m x n], v [n] at stride incv with v[0] stored as 1; work holds m elements.
template <class T>
void reflect_right(int64_t m, int64_t n, T tau, const T* v, int64_t incv, T* c, int64_t ldc,
                   T* work) {
  if (tau == 0) return;
  for (int64_t i = 0; i < m; ++i) work[i] = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T vj = v[j * incv];
    const T* cj = c + j * ldc;
    for (int64_t i = 0; i < m; ++i) work[i] += cj[i] * vj;
  }
  for (int64_t j = 0; j < n; ++j) {
    const T vj = tau * v[j * incv];
    T* cj = c + j * ldc;
    for (int64_t i = 0; i < m; ++i) cj[i] -= work[i] * vj;
  }
}

/// z [rows x ncols] := H(0) H(1) ... H(k-1) z for reflectors stored as a reduction leaves them in
/// a (lda): H(i) acts on rows i + shift .. rows - 1, its v[0] = 1 implicit at a(i, i) moved shift
/// steps along inc (1: down the column, lda: along the row), v[1:] following at stride inc.
template <class T>
void apply_reflectors(int64_t k, int64_t rows, int64_t shift, const T* a, int64_t lda, int64_t inc,
                      const T* tau, T* z, int64_t ncols, int64_t ldz) {
  std::vector<T> v(static_cast<size_t>(std::max<int64_t>(rows, 1)));
  for (int64_t i = k - 1; i >= 0; --i) {
    const int64_t len = rows - i - shift;
    const T* base = a + i * (1 + lda) + shift * inc;
    v[0] = T(1);
    for (int64_t r = 1; r < len; ++r) v[r] = base[r * inc];
    reflect_left(len, ncols, tau[i], v.data(), int64_t{1}, z + i + shift, ldz);
  }
}

}  // namespace affine::detail::linalg
