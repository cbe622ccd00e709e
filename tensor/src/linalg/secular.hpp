// Internal: what the two divide-and-conquer merges share (tridiagonal_dc.cpp for the symmetric
// eigenproblem, bidiagonal_dc.cpp for the SVD): deflation, the secular equation, the recomputed z,
// and the grouping of the gathered vector columns for the merge's GEMMs.
//
// Both merges reduce to the eigenvalues of diag(p) + rho z z^T for poles p ascending and distinct,
// z_j != 0 and rho > 0: the roots of f(x) = 1 + rho sum_j z_j^2 / (p_j - x), which rises from
// -inf to +inf between consecutive poles, so root i lies in (p_i, p_{i+1}) and the last in
// (p_{k-1}, p_{k-1} + rho |z|^2]. The poles are p_j = d_j (eigenvalues) or p_j = d_j^2 (squares
// of singular values, the eigenvalues of M^T M for the SVD's arrowhead M).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "gemm/parallel_threshold.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg {

/// Where a gathered vector column has nonzeros: the rows of the merge's upper half, of its lower
/// half, or both (after a deflating rotation of one of each). The GEMMs skip the zero halves.
enum Kind : int { kTop = 0, kMixed = 1, kBottom = 2 };

/// Gathered columns grouped by kind (top, mixed, bottom; each group in list order).
struct Grouping {
  std::vector<int64_t> slot;     ///< index in the list -> gathered column
  int64_t count[3] = {0, 0, 0};  ///< columns of each kind
};

/// The grouping of a list of count columns, kind_of(t) the kind of the t-th.
template <class KindOf>
Grouping group_by_kind(int64_t count, const KindOf& kind_of) {
  Grouping g;
  g.slot.resize(static_cast<size_t>(count));
  for (int64_t t = 0; t < count; ++t) ++g.count[kind_of(t)];
  int64_t at[3] = {0, g.count[kTop], g.count[kTop] + g.count[kMixed]};
  for (int64_t t = 0; t < count; ++t) g.slot[static_cast<size_t>(t)] = at[kind_of(t)]++;
  return g;
}

/// (x, y) := (c x - s y, s x + c y) over rows elements: a deflating rotation of two columns.
template <class T>
void rotate_pair(T* x, T* y, int64_t rows, T c, T s) {
  for (int64_t r = 0; r < rows; ++r) {
    const T a = x[r], b = y[r];
    x[r] = c * a - s * b;
    y[r] = s * a + c * b;
  }
}

/// Deflation of diag(d) + rho z z^T over the coordinates order[0..count) (ascending d). A
/// coordinate with rho |z_j| <= tol is deflated as it is. Of two neighbours whose d are so close
/// that the rotation moving z_prev into z_j leaves |C S (d_j - d_prev)| <= tol off the diagonal,
/// prev is deflated: rotate(prev, j, c, s) applies that rotation to the caller's vectors (columns
/// prev and j, as rotate_pair), and d and z are updated here. Writes the kept and
/// the deflated coordinates (each in ascending d) and returns how many of each.
template <class T, class Rotate>
std::pair<int64_t, int64_t> deflate(const int64_t* order, int64_t count, T* d, T* z, T rho, T tol,
                                    const Rotate& rotate, int64_t* kept, int64_t* deflated) {
  int64_t nk = 0, nd = 0, prev = -1;
  for (int64_t p = 0; p < count; ++p) {
    const int64_t j = order[p];
    if (rho * std::abs(z[j]) <= tol) {
      deflated[nd++] = j;
      continue;
    }
    if (prev >= 0) {
      const T len = std::hypot(z[prev], z[j]);
      const T c = z[j] / len, s = z[prev] / len;
      if (std::abs((d[j] - d[prev]) * c * s) <= tol) {
        rotate(prev, j, c, s);
        const T dp = d[prev], dj = d[j];
        d[prev] = c * c * dp + s * s * dj;
        d[j] = s * s * dp + c * c * dj;
        z[prev] = 0;
        z[j] = len;
        deflated[nd++] = prev;
        prev = j;
        continue;
      }
      kept[nk++] = prev;
    }
    prev = j;
  }
  if (prev >= 0) kept[nk++] = prev;
  return {nk, nd};
}

/// Root i of the secular equation, as an offset from the pole it is nearer to.
template <class T>
struct SecularRoot {
  int64_t origin;  ///< o: the root is p_o + mu
  T mu;
};

/// p_j - p_o for p = d (squared false) or p = d^2 (squared true): for squares as
/// (d_j - d_o)(d_j + d_o), which keeps its relative accuracy where d_j^2 - d_o^2 would not.
template <class T>
T pole_difference(const T* d, int64_t j, int64_t o, bool squared) {
  return squared ? (d[j] - d[o]) * (d[j] + d[o]) : d[j] - d[o];
}

/// Root i of 1 + rho sum_j z_j^2 / (p_j - x) = 0 over the k poles p (see above; d [k] ascending
/// and distinct, non-negative when squared), zz = sum_j z_j^2. Writes delta[j] = p_j - root for
/// every j.
///
/// The iteration runs in mu = x - p_o, o the pole nearer the root (a test at the midpoint picks
/// it), and forms each difference as (p_j - p_o) - mu: so p_o - root is exact and the others keep
/// their relative accuracy, however close the root is to its pole. The merges' recomputed z and
/// eigenvectors depend on that. Each step fits f by c + B1 / (p_i - x) + B2 / (p_{i+1} - x), the
/// poles on either side each matching its part of f in value and slope (Bunch, Nielsen &
/// Sorensen), and moves to the fit's root; a step that would leave the bracket known to hold the
/// root bisects it instead, so the iteration always ends. It stops when |f| is below the rounding
/// error of evaluating it (the bound for recursive summation), or when the bracket cannot shrink.
template <class T>
SecularRoot<T> secular_root(int64_t k, int64_t i, const T* d, const T* z, T rho, T zz, bool squared,
                            T* delta) {
  const T eps = std::numeric_limits<T>::epsilon();
  const bool last = i == k - 1;
  int64_t o = i;
  T lo = 0, hi = 0;  // f(p_o + lo) < 0 (or lo is a pole), f(p_o + hi) >= 0
  if (last) {
    hi = rho * zz;  // f(p_{k-1} + rho zz) >= 0: every term is at least -z_j^2 / (rho zz)
  } else {
    const T gap = pole_difference(d, i + 1, i, squared), half = gap / 2;
    T f = 1;
    for (int64_t j = 0; j < k; ++j)
      f += rho * z[j] * (z[j] / (pole_difference(d, j, i, squared) - half));
    if (f >= 0) {
      hi = half;
    } else {
      o = i + 1;
      lo = half - gap;
    }
  }
  for (int64_t j = 0; j < k; ++j) delta[j] = pole_difference(d, j, o, squared);
  T mu = o == i ? hi : lo;
  for (int iter = 0; iter < 400; ++iter) {
    // psi: the terms of the poles at or left of p_i (negative), phi: right of it (positive).
    T psi = 0, dpsi = 0, phi = 0, dphi = 0, partial = 0;
    for (int64_t j = 0; j <= i; ++j) {
      const T t = z[j] / (delta[j] - mu);
      psi += z[j] * t;
      dpsi += t * t;
      partial -= psi;
    }
    for (int64_t j = k - 1; j > i; --j) {
      const T t = z[j] / (delta[j] - mu);
      phi += z[j] * t;
      dphi += t * t;
      partial += phi;
    }
    const T f = 1 + rho * (psi + phi);
    const T err = eps * (2 + rho * (partial + 8 * (phi - psi) + 3 * std::abs(mu) * (dpsi + dphi)));
    if (std::abs(f) <= err) break;
    (f < 0 ? lo : hi) = mu;
    const T left = delta[i] - mu;  // the nearest poles, relative to mu
    const T b1 = rho * left * left * dpsi;
    T step = std::numeric_limits<T>::quiet_NaN();
    if (last) {  // c + b1 / (left - s) = 0
      const T c = f - b1 / left;
      if (c > 0) step = left + b1 / c;
    } else {  // c s^2 - a s + b = 0, the root in (left, right)
      const T right = delta[i + 1] - mu;
      const T b2 = rho * right * right * dphi;
      const T c = f - b1 / left - b2 / right;
      const T a = c * (left + right) + b1 + b2, b = left * right * f;
      const T root = std::sqrt(std::max(T(0), a * a - 4 * b * c));
      const T q = a >= 0 ? (a + root) / 2 : (a - root) / 2;
      const T s1 = q != 0 ? b / q : std::numeric_limits<T>::quiet_NaN();
      const T s2 = c != 0 ? q / c : std::numeric_limits<T>::quiet_NaN();
      if (s1 > left && s1 < right) {
        step = s1;
      } else if (s2 > left && s2 < right) {
        step = s2;
      }
    }
    T next = mu + step;
    if (!(next > lo && next < hi)) next = lo + (hi - lo) / 2;  // also when step is NaN
    if (next == mu || next <= lo || next >= hi) break;         // the bracket cannot shrink
    mu = next;
  }
  for (int64_t j = 0; j < k; ++j) delta[j] -= mu;
  return {o, mu};
}

/// All k roots (secular_root for each i): root i as (origin, mu) in roots[i], delta's column i
/// (k x k) its differences. The roots are independent, so they run on threads when their work
/// pays for it: each takes a few passes of k divisions (taken as ~16 multiply-adds each).
template <class T>
void secular_roots(int64_t k, const T* d, const T* z, T rho, T zz, bool squared, T* delta,
                   SecularRoot<T>* roots) {
  const int threads = gemm::worth_threads<T>(64 * k * k, 1) ? num_threads() : 1;
  const int64_t tasks = std::min<int64_t>(k, int64_t{4} * threads);
  parallel_for(tasks, threads, [&](int64_t t) {
    for (int64_t i = k * t / tasks; i < k * (t + 1) / tasks; ++i)
      roots[i] = secular_root(k, i, d, z, rho, zz, squared, delta + i * k);
  });
}

/// The z for which the computed roots are the exact eigenvalues of diag(p) + rho zhat zhat^T
/// (Gu & Eisenstat): from the characteristic polynomial at p_j,
///   rho zhat_j^2 = prod_i (root_i - p_j) / prod_{i != j} (p_i - p_j),
/// with delta (k x k, column i from secular_root for root i) giving root_i - p_j = -delta(j, i).
/// Keeps z's signs; overwrites z.
template <class T>
void recompute_z(int64_t k, const T* d, T rho, bool squared, const T* delta, T* z) {
  for (int64_t j = 0; j < k; ++j) {
    T prod = -delta[j + j * k] / rho;
    for (int64_t i = 0; i < k; ++i) {
      if (i != j) prod *= -delta[j + i * k] / pole_difference(d, i, j, squared);
    }
    z[j] = std::copysign(std::sqrt(std::max(prod, T(0))), z[j]);
  }
}

}  // namespace affine::detail::linalg
