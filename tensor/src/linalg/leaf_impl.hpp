// Internal: the loops behind leaf.hpp, included by exactly one translation unit per ISA, inside
// an unnamed namespace (so each ISA's copy stays its own). kFma selects fused multiply-adds
// (only where the ISA has them: __builtin_fma is a libm call otherwise).
#pragma once

#include <cstdint>

#include "linalg/leaf.hpp"
#include "linalg/native_vector.hpp"

namespace affine::detail::linalg {
namespace {

template <bool kFma, class T>
inline T madd(T a, T b, T c) {  // a * b + c
  if constexpr (kFma && sizeof(T) == 4) {
    return __builtin_fmaf(a, b, c);
  } else if constexpr (kFma) {
    return __builtin_fma(a, b, c);
  } else {
    return a * b + c;
  }
}

template <class T>
inline T absval(T x) {
  return x < T(0) ? -x : x;
}

// y[0:k] -= s * x[0:k]
template <bool kFma, class T>
inline void axpy_neg(int64_t k, T s, const T* __restrict x, T* __restrict y) {
  for (int64_t j = 0; j < k; ++j) y[j] = madd<kFma>(-s, x[j], y[j]);
}

// Row i of B (kW columns at bi) minus the solved rows p0..p1 above or below it (the same columns
// at bcol, rows brs apart) scaled by A(i, p), then divided by A(i, i) unless unit: the strip stays
// in registers for all the rows (an axpy per row would load and store it each time, and stores
// are what a 128-bit-store core like Zen 1 has least of). Each element's updates run in the same
// order, p ascending, then the one scaling, whatever the strip's width.
template <int64_t kW, bool kFma, class T>
inline void trsm_row_strip(const T* ai, int64_t acs, int64_t p0, int64_t p1, const T* bcol,
                           int64_t brs, T* bi, bool unit, bool by_reciprocal, T d, T r) {
  T acc[kW];
#pragma GCC unroll 32
  for (int64_t l = 0; l < kW; ++l) acc[l] = bi[l];
  for (int64_t p = p0; p < p1; ++p) {
    const T ap = -ai[p * acs];
    const T* bp = bcol + p * brs;
#pragma GCC unroll 32
    for (int64_t l = 0; l < kW; ++l) acc[l] = madd<kFma>(ap, bp[l], acc[l]);
  }
  if (!unit) {
    if (by_reciprocal) {
#pragma GCC unroll 32
      for (int64_t l = 0; l < kW; ++l) acc[l] *= r;
    } else {
#pragma GCC unroll 32
      for (int64_t l = 0; l < kW; ++l) acc[l] /= d;
    }
  }
#pragma GCC unroll 32
  for (int64_t l = 0; l < kW; ++l) bi[l] = acc[l];
}

// The last k - j0 < 2 kW columns of a row, in strips of kW, kW / 2, ..., 1 (at most one of each):
// a tail of 16 doubles stays in registers as a full strip does, where a row of axpys over it
// made sizes off the strip's multiples (48, 96, 192) a quarter slower.
template <int64_t kW, bool kFma, class T>
inline void trsm_row_tail(int64_t j0, int64_t k, const T* ai, int64_t acs, int64_t p0, int64_t p1,
                          const T* b, int64_t brs, T* bi, bool unit, bool by_reciprocal, T d, T r) {
  if (k - j0 >= kW) {
    trsm_row_strip<kW, kFma>(ai, acs, p0, p1, b + j0, brs, bi + j0, unit, by_reciprocal, d, r);
    j0 += kW;
  }
  if constexpr (kW > 1)
    trsm_row_tail<kW / 2, kFma>(j0, k, ai, acs, p0, p1, b, brs, bi, unit, by_reciprocal, d, r);
}

// Solves the n x n triangle A X = B in place on B's rows (k columns each), row by row.
template <bool kFma, class T>
void trsm_rows(bool lower, bool unit, int64_t n, int64_t k, const T* a, int64_t ars, int64_t acs,
               T* b, int64_t brs) {
  constexpr int64_t kStrip = 256 / static_cast<int64_t>(sizeof(T));
  for (int64_t s = 0; s < n; ++s) {
    const int64_t i = lower ? s : n - 1 - s;
    T* bi = b + i * brs;
    const T* ai = a + i * ars;
    const int64_t p0 = lower ? 0 : i + 1, p1 = lower ? i : n;
    // By the reciprocal (a vector divide costs ~10 multiplies) unless it overflows.
    const T d = unit ? T(1) : ai[i * acs], r = T(1) / d;
    const bool by_reciprocal = r - r == T(0);
    int64_t j0 = 0;
    for (; j0 + kStrip <= k; j0 += kStrip)
      trsm_row_strip<kStrip, kFma>(ai, acs, p0, p1, b + j0, brs, bi + j0, unit, by_reciprocal, d,
                                   r);
    trsm_row_tail<kStrip / 2, kFma>(j0, k, ai, acs, p0, p1, b, brs, bi, unit, by_reciprocal, d, r);
  }
}

template <bool kFma, class T>
int64_t getrf_panel(int64_t m, int64_t n, T* a, int64_t rs, int64_t* ipiv) {
  const int64_t mn = m < n ? m : n;
  int64_t info = -1;
  for (int64_t j = 0; j < mn; ++j) {
    int64_t p = j;
    T best = absval(a[j * rs + j]);
    for (int64_t i = j + 1; i < m; ++i) {
      const T v = absval(a[i * rs + j]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    ipiv[j] = p;
    if (p != j) {
      for (int64_t c = 0; c < n; ++c) {
        const T t = a[j * rs + c];
        a[j * rs + c] = a[p * rs + c];
        a[p * rs + c] = t;
      }
    }
    const T piv = a[j * rs + j];
    if (piv == T(0)) {
      if (info < 0) info = j;
      continue;  // the column is zero below the diagonal: nothing to eliminate
    }
    const T r = T(1) / piv;
    const bool by_reciprocal = r - r == T(0);  // else the reciprocal overflowed: divide
    const T* uj = a + j * rs;
    for (int64_t i = j + 1; i < m; ++i) {
      T* ai = a + i * rs;
      const T l = by_reciprocal ? ai[j] * r : ai[j] / piv;
      ai[j] = l;
      axpy_neg<kFma>(n - j - 1, l, uj + j + 1, ai + j + 1);
    }
  }
  return info;
}

template <bool kFma, class T>
int64_t potrf_upper_panel(int64_t n, T* a, int64_t rs) {
  // Right-looking by rows: row j of U is row j of the updated A scaled by 1/sqrt(a_jj); then the
  // trailing upper triangle loses the outer product of that row with itself.
  for (int64_t j = 0; j < n; ++j) {
    T* uj = a + j * rs;
    const T d = uj[j];
    if (!(d > T(0))) return j + 1;  // also catches NaN
    const T u = sizeof(T) == 4 ? __builtin_sqrtf(static_cast<float>(d)) : __builtin_sqrt(d);
    uj[j] = u;
    const T r = T(1) / u;
    for (int64_t c = j + 1; c < n; ++c) uj[c] *= r;
    for (int64_t i = j + 1; i < n; ++i) axpy_neg<kFma>(n - i, uj[i], uj + i, a + i * rs + i);
  }
  return 0;
}

template <bool kFma, class T>
void larf_rows(T tau, const T* v, int64_t inc, int64_t m, int64_t n, T* c, int64_t rs, T* work) {
  if (tau == T(0) || m == 0 || n == 0) return;
  for (int64_t j = 0; j < n; ++j) work[j] = c[j];
  for (int64_t i = 1; i < m; ++i) {
    const T vi = v[i * inc];
    const T* ci = c + i * rs;
    for (int64_t j = 0; j < n; ++j) work[j] = madd<kFma>(vi, ci[j], work[j]);
  }
  axpy_neg<kFma>(n, tau, work, c);
  for (int64_t i = 1; i < m; ++i) axpy_neg<kFma>(n, tau * v[i * inc], work, c + i * rs);
}

// 64 bytes of T as explicit vectors, its lane count, and its horizontal sum in lane order (the
// order fixes the rounding, the same on every ISA). Held as 64 / kNativeBytes vectors of the width
// this file is compiled for: GCC 12 lowers a single 64-byte vector on AVX2 through the stack and
// general registers, which made symv_lower a third of OpenBLAS's dsymv on Zen 1.
template <class T>
constexpr int Lanes = 64 / static_cast<int>(sizeof(T));
template <class T>
struct Vec64 {
  typedef T Native __attribute__((vector_size(kNativeBytes)));  // (GCC takes it on a typedef only)
  static constexpr int kParts = 64 / kNativeBytes;
  static constexpr int kPartLanes = kNativeBytes / static_cast<int>(sizeof(T));
  Native part[kParts] = {};

  // One part at a time (a copy of the whole array would keep it in memory).
  static Vec64 load(const T* p) {
    Vec64 v;
#pragma GCC unroll 4
    for (int k = 0; k < kParts; ++k) __builtin_memcpy(&v.part[k], p + k * kPartLanes, kNativeBytes);
    return v;
  }
  void store(T* p) const {
#pragma GCC unroll 4
    for (int k = 0; k < kParts; ++k) __builtin_memcpy(p + k * kPartLanes, &part[k], kNativeBytes);
  }
  T lane(int l) const { return part[l / kPartLanes][l % kPartLanes]; }
  Vec64& operator+=(const Vec64& o) {
#pragma GCC unroll 4
    for (int k = 0; k < kParts; ++k) part[k] += o.part[k];
    return *this;
  }
  friend Vec64 operator+(Vec64 a, const Vec64& b) { return a += b; }
  friend Vec64 operator*(const Vec64& a, const Vec64& b) {
    Vec64 r;
#pragma GCC unroll 4
    for (int k = 0; k < kParts; ++k) r.part[k] = a.part[k] * b.part[k];
    return r;
  }
  friend Vec64 operator*(const Vec64& a, T s) {
    Vec64 r;
#pragma GCC unroll 4
    for (int k = 0; k < kParts; ++k) r.part[k] = a.part[k] * s;
    return r;
  }
};
template <class T>
T hsum(const Vec64<T>& v) {
  T s = 0;
#pragma GCC unroll 16
  for (int l = 0; l < Lanes<T>; ++l) s += v.lane(l);
  return s;
}

// One pass over the lower triangle serves both halves of the product: column j below the
// diagonal adds x[j] * A(r, j) to y[r] (an axpy) and contributes its dot with x to y[j]. Two
// columns per pass (two memory streams in flight, y loaded and stored once for both: the loop is
// bound by reading A, the tridiagonalisation's memory-bound half). The dots are accumulated in
// explicit vectors (GCC vector extensions, lowered to the file's ISA): without reassociation the
// compiler would leave a scalar reduction.
template <bool kFma, class T>
void symv_lower(int64_t k, const T* a, int64_t lda, const T* x, T* y) {
  constexpr int L = Lanes<T>;
  using V = Vec64<T>;
  for (int64_t r = 0; r < k; ++r) y[r] = T(0);
  int64_t j = 0;
  for (; j + 1 < k; j += 2) {
    const T* c0 = a + j * lda;
    const T* c1 = c0 + lda;
    const T x0 = x[j], x1 = x[j + 1];
    // The 2 x 2 diagonal block: A(j, j), A(j + 1, j), A(j + 1, j + 1).
    T dot0 = c0[j + 1] * x[j + 1], dot1 = 0;
    y[j] = madd<kFma>(c0[j], x0, y[j]);
    y[j + 1] = madd<kFma>(c1[j + 1], x1, madd<kFma>(c0[j + 1], x0, y[j + 1]));
    V acc0 = {}, acc1 = {};
    int64_t r = j + 2;
    for (; r + L <= k; r += L) {
      // The next pair's lines at the same rows: their streams start warm.
      __builtin_prefetch(c0 + 2 * lda + r);
      __builtin_prefetch(c1 + 2 * lda + r);
      const V a0 = V::load(c0 + r), a1 = V::load(c1 + r), xv = V::load(x + r);
      V yv = V::load(y + r);
      yv += a0 * x0 + a1 * x1;
      acc0 += a0 * xv;
      acc1 += a1 * xv;
      yv.store(y + r);
    }
    dot0 += hsum<T>(acc0);
    dot1 += hsum<T>(acc1);
    for (; r < k; ++r) {
      y[r] = madd<kFma>(c1[r], x1, madd<kFma>(c0[r], x0, y[r]));
      dot0 = madd<kFma>(c0[r], x[r], dot0);
      dot1 = madd<kFma>(c1[r], x[r], dot1);
    }
    y[j] += dot0;
    y[j + 1] += dot1;
  }
  if (j < k) y[j] = madd<kFma>(a[j + j * lda], x[j], y[j]);  // the last column, when k is odd
}

// Column by column, four at a time: every column streams through memory in order and y stays in
// L1. (GEMM's unpacked kernels, handed this as C^T = x^T A^T, keep a strip of y in registers and
// walk all n columns for it, a page apart each: a TLB miss per element loaded.)
template <bool kFma, class T>
void gemv_columns(int64_t m, int64_t n, const T* a, int64_t lda, const T* x, int64_t incx,
                  bool accumulate, T* y) {
  if (!accumulate)
    for (int64_t r = 0; r < m; ++r) y[r] = T(0);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const T* a0 = a + j * lda;
    const T* a1 = a0 + lda;
    const T* a2 = a1 + lda;
    const T* a3 = a2 + lda;
    const T x0 = x[j * incx], x1 = x[(j + 1) * incx], x2 = x[(j + 2) * incx],
            x3 = x[(j + 3) * incx];
    for (int64_t r = 0; r < m; ++r)
      y[r] = madd<kFma>(a3[r], x3,
                        madd<kFma>(a2[r], x2, madd<kFma>(a1[r], x1, madd<kFma>(a0[r], x0, y[r]))));
  }
  for (; j < n; ++j) {
    const T* aj = a + j * lda;
    const T xj = x[j * incx];
    for (int64_t r = 0; r < m; ++r) y[r] = madd<kFma>(aj[r], xj, y[r]);
  }
}

// Four columns at a time against one pass over x, each dot in its own vector accumulator (see
// symv_lower for why explicit vectors).
template <bool kFma, class T>
void gemv_dots(int64_t m, int64_t n, const T* a, int64_t lda, const T* x, T* y) {
  constexpr int L = Lanes<T>;
  using V = Vec64<T>;
  int64_t j = 0;
  for (; j < n; j += 4) {
    const int64_t w = n - j < 4 ? n - j : 4;
    const T* c[4];
    for (int64_t q = 0; q < 4; ++q) c[q] = a + (j + (q < w ? q : 0)) * lda;
    V acc[4] = {};
    int64_t r = 0;
    for (; r + L <= m; r += L) {
      const V xv = V::load(x + r);
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) acc[q] += V::load(c[q] + r) * xv;
    }
    for (int64_t q = 0; q < w; ++q) {
      T dot = hsum<T>(acc[q]);
      for (int64_t t = r; t < m; ++t) dot = madd<kFma>(c[q][t], x[t], dot);
      y[j + q] = dot;
    }
  }
}

template <bool kFma, class T>
LeafKernels<T> make_leaf_kernels() {
  return {&trsm_rows<kFma, T>, &getrf_panel<kFma, T>, &potrf_upper_panel<kFma, T>,
          &larf_rows<kFma, T>, &symv_lower<kFma, T>,  &gemv_columns<kFma, T>,
          &gemv_dots<kFma, T>};
}

}  // namespace
}  // namespace affine::detail::linalg
