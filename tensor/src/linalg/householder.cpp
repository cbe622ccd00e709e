// Householder reflectors (see householder.hpp): generation, single application, and the
// compact-WY block form applied with GEMM.
#include "linalg/householder.hpp"

#include "linalg/leaf.hpp"
#include "linalg/workspace.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace affine::detail::linalg {

template <class T>
T nrm2(int64_t n, const T* x, int64_t inc) {
  // One pass when the plain sum of squares is safe (no overflow, nothing lost to underflow),
  // which is the common case; else a second pass scaled by the largest |x| (values near 1 can
  // neither overflow nor underflow when squared).
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i * inc] * x[i * inc];
  constexpr T lo = T(1) / T(1ull << 60), hi = T(1ull << 60);
  if (s > lo * lo && s < hi * hi) return std::sqrt(s);
  T amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(x[i * inc]));
  if (amax == T(0) || !std::isfinite(amax)) return amax;  // NaN/Inf propagate as they are
  const T inv = T(1) / amax;
  s = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T y = x[i * inc] * inv;
    s += y * y;
  }
  return amax * std::sqrt(s);
}

template <class T>
T larfg(int64_t n, T& alpha, T* x, int64_t inc) {
  if (n <= 1) return T(0);
  T xnorm = nrm2(n - 1, x, inc);
  if (xnorm == T(0)) return T(0);
  T beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
  // As dlarfg: when beta is tiny, scale x and alpha up (at most a few times) so v = x / (alpha -
  // beta) is computed without losing accuracy to subnormals; beta is scaled back at the end.
  const T safmin = std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon();
  int knt = 0;
  if (std::abs(beta) < safmin) {
    const T rsafmn = T(1) / safmin;
    do {
      ++knt;
      for (int64_t i = 0; i < n - 1; ++i) x[i * inc] *= rsafmn;
      beta *= rsafmn;
      alpha *= rsafmn;
    } while (std::abs(beta) < safmin && knt < 20);
    xnorm = nrm2(n - 1, x, inc);
    beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
  }
  const T tau = (beta - alpha) / beta;
  const T scal = T(1) / (alpha - beta);
  for (int64_t i = 0; i < n - 1; ++i) x[i * inc] *= scal;
  for (int j = 0; j < knt; ++j) beta *= safmin;
  alpha = beta;
  return tau;
}

template <class T>
void larf_left(T tau, const T* v, int64_t inc, Mat<T> c, T* work) {
  if (tau == T(0) || c.m == 0 || c.n == 0) return;
  if (c.cs == 1) {  // rows contiguous: w = C^T v and C -= tau v w^T as row axpys (leaf.hpp)
    leaf_kernels<T>().larf_rows(tau, v, inc, c.m, c.n, c.p, c.rs, work);
    return;
  }
  // Columns (or neither) contiguous: one dot and one axpy down each column.
  for (int64_t j = 0; j < c.n; ++j) {
    T* cj = c.p + j * c.cs;
    T w = cj[0];
    for (int64_t i = 1; i < c.m; ++i) w += v[i * inc] * cj[i * c.rs];
    w *= tau;
    cj[0] -= w;
    for (int64_t i = 1; i < c.m; ++i) cj[i * c.rs] -= w * v[i * inc];
  }
}

template <class T>
void larf_right(T tau, const T* v, int64_t inc, Mat<T> c, T* work) {
  larf_left(tau, v, inc, c.t(), work);
}

namespace {

// V (m x k, unit lower trapezoidal, strictly lower part read) as an explicit dense row-major
// matrix with its ones and zeros at out (m * k elements), so the block products below are plain
// GEMMs.
template <class T>
Mat<const T> explicit_v(Mat<const T> v, T* out) {
  for (int64_t i = 0; i < v.m; ++i) {
    T* row = out + i * v.n;
    for (int64_t j = 0; j < v.n; ++j) row[j] = j < i ? v(i, j) : (j == i ? T(1) : T(0));
  }
  return rowmajor<const T>(out, v.m, v.n, v.n);
}

}  // namespace

template <class T>
void larft(Mat<const T> v, const T* tau, Mat<T> t) {
  const int64_t m = v.m, k = v.n;
  if (k == 0) return;
  // G = V^T V by GEMM; then column i of T is -tau_i T[0:i, 0:i] G[0:i, i] (dlarft's recurrence).
  // Scratch: one buffer from the storage cache, not zero-filled (every element is written before
  // it is read), where each call used to allocate and zero three vectors.
  Workspace<T> scratch(m * k + k * k + k);
  const Mat<const T> vf = explicit_v(v, scratch.data());
  T* g = scratch.data() + m * k;
  T* col = g + k * k;
  gemm<T>(T(1), vf.t(), vf, T(0), rowmajor(g, k, k, k));
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < i; ++j) col[j] = -tau[i] * g[j * k + i];
    for (int64_t j = 0; j < i; ++j) {  // T[0:i, i] = T[0:i, 0:i] col (upper triangular)
      T s = 0;
      for (int64_t l = j; l < i; ++l) s += t(j, l) * col[l];
      t(j, i) = s;
    }
    t(i, i) = tau[i];
    for (int64_t j = i + 1; j < k; ++j) t(j, i) = T(0);
  }
}

template <class T>
void larfb(Side side, bool transpose, Mat<const T> v, Mat<const T> t, Mat<T> c) {
  const int64_t k = v.n;
  if (k == 0 || c.m == 0 || c.n == 0) return;
  const bool left = side == Side::left;
  const Mat<T> cc = left ? c.t() : c;
  const int64_t rows = cc.m;
  // V, T and the two W's in one buffer from the storage cache (each written before it is read).
  Workspace<T> scratch(v.m * k + k * k + 2 * rows * k);
  const Mat<const T> vf = explicit_v(v, scratch.data());
  T* tz_buf = scratch.data() + v.m * k;  // T with explicit zeros below
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) tz_buf[i * k + j] = j >= i ? t(i, j) : T(0);
  const Mat<const T> tz = rowmajor<const T>(tz_buf, k, k, k);
  // Left:  op(H) C = C - V op(T) V^T C;  W = C^T V (n x k), W := W op(T)^T, C -= V W^T.
  // Right: C op(H) = C - C V op(T) V^T;  W = C V (m x k),   W := W op(T),   C -= W V^T.
  // (Left as the right form on C^T: measured faster than W = V^T C, whose GEMMs have only k
  // rows to amortise packing the whole of C.)
  const bool t_trans = left ? !transpose : transpose;
  T* w_buf = tz_buf + k * k;
  const Mat<T> w = rowmajor(w_buf, rows, k, k), w2 = rowmajor(w_buf + rows * k, rows, k, k);
  gemm<T>(T(1), cc, vf, T(0), w);
  gemm<T>(T(1), w, t_trans ? tz.t() : tz, T(0), w2);
  gemm<T>(T(-1), w2, vf.t(), T(1), cc);
}

template <class T>
void reflect_block_left(Mat<const T> v, const T* tau, bool transpose, Mat<T> c, T* t) {
  const int64_t k = v.n;
  if (k == 0 || c.m == 0 || c.n == 0) return;
  if (c.m <= kReflectOneByOne && c.n <= kReflectOneByOne) {
    // H C applies H_{k-1} first; H^T C = H_{k-1} ... H_0 C applies H_0 first (each H_j = H_j^T).
    T work[kReflectOneByOne];
    for (int64_t s = 0; s < k; ++s) {
      const int64_t j = transpose ? s : k - 1 - s;
      larf_left<T>(tau[j], &v(j, j), v.rs, c.block(j, 0, c.m - j, c.n), work);
    }
    return;
  }
  const Mat<T> tm = rowmajor(t, k, k, k);
  larft<T>(v, tau, tm);
  larfb<T>(Side::left, transpose, v, tm, c);
}

#define AFFINE_HOUSEHOLDER_INSTANTIATE(T)                                 \
  template T nrm2<T>(int64_t, const T*, int64_t);                         \
  template T larfg<T>(int64_t, T&, T*, int64_t);                          \
  template void larf_left<T>(T, const T*, int64_t, Mat<T>, T*);           \
  template void larf_right<T>(T, const T*, int64_t, Mat<T>, T*);          \
  template void larft<T>(Mat<const T>, const T*, Mat<T>);                 \
  template void larfb<T>(Side, bool, Mat<const T>, Mat<const T>, Mat<T>); \
  template void reflect_block_left<T>(Mat<const T>, const T*, bool, Mat<T>, T*);
AFFINE_HOUSEHOLDER_INSTANTIATE(float)
AFFINE_HOUSEHOLDER_INSTANTIATE(double)
#undef AFFINE_HOUSEHOLDER_INSTANTIATE

}  // namespace affine::detail::linalg
