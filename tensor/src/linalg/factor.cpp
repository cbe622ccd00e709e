// LU, Cholesky and QR kernels on one matrix (see factor.hpp).
#include "linalg/factor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "linalg/blas3.hpp"
#include "linalg/householder.hpp"
#include "linalg/leaf.hpp"
#include "linalg/workspace.hpp"

namespace affine::detail::linalg {

namespace {

// Panels at most this wide are factored column by column (rank-1 updates inside the panel);
// wider ones are split in two around a TRSM and a GEMM (Toledo's recursive LU, LAPACK's getrf2).
constexpr int64_t kLuBase = 16;
// Panels at most this wide are factored in a compact copy (see getrf).
constexpr int64_t kLuPack = 64;
// Cholesky blocks at most this large are factored by the leaf loop.
constexpr int64_t kCholBase = 32;
// Householder QR: the most reflectors per compact-WY block (the width of the panel factored by
// level-2 code before its block reflector updates the rest with GEMM); see QrPanels.
constexpr int64_t kQrBlock = 48;
constexpr int64_t kQrBlockSmall = 32;

int64_t split_point(int64_t n) { return n >= 16 ? (n / 2 + 7) / 8 * 8 : n / 2; }

// k reflectors in the fewest panels of at most `width`, as even as they can be: 64 as 32 + 32,
// not 48 + 16, whose wide first panel paid a 48 x 48 block reflector to update 16 columns (QR at
// n = 64 took 1.35x as long as with two even panels, on Zen 1). Panel s is [start(s), start(s+1)).
// The width grows with k from LAPACK's 32 to kQrBlock (k / 16 in between): the panels' level-2
// updates, several times slower per flop than the block reflectors' GEMMs, do about width / 2n of
// an n x n QR's flops, which matters for small n; large n gains from the wider GEMMs (48 was the
// best of 32, 48 and 64 at n = 1024 on the machine the block was first chosen on; on Zen 1, 32
// ran 8-16% faster than 48 for n = 96 to 512 and within noise of it from 768 to 1536).
struct QrPanels {
  int64_t k, width, count;
  explicit QrPanels(int64_t reflectors)
      : k(reflectors),
        width(std::clamp<int64_t>(reflectors / 16, kQrBlockSmall, kQrBlock)),
        count((reflectors + width - 1) / width) {}
  int64_t start(int64_t s) const { return k * s / count; }
};

template <class T>
void swap_rows(Mat<T> a, int64_t i, int64_t j) {
  if (i == j) return;
  if (a.cs == 1) {  // contiguous rows: a vectorised swap
    std::swap_ranges(&a(i, 0), &a(i, 0) + a.n, &a(j, 0));
    return;
  }
  for (int64_t c = 0; c < a.n; ++c) std::swap(a(i, c), a(j, c));
}

// dst := src (same shape). Rows of at most a few hundred bytes: one memcpy per contiguous row,
// where the element loop compiled to `rep movsq`, whose start-up cost per row was ~70% of
// getrf's own time at n = 256 on Zen 1.
template <class T>
void copy_matrix(Mat<const T> src, Mat<T> dst) {
  if (src.cs == 1 && dst.cs == 1) {
    for (int64_t i = 0; i < src.m; ++i)
      std::memcpy(&dst(i, 0), &src(i, 0), static_cast<size_t>(src.n) * sizeof(T));
    return;
  }
  for (int64_t i = 0; i < src.m; ++i)
    for (int64_t j = 0; j < src.n; ++j) dst(i, j) = src(i, j);
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
  if (a.n <= kLuPack && (a.rs != a.n || a.cs != 1)) {
    // A narrow panel of a big matrix has rows a page or more apart, so walking down its columns
    // (pivot search, rank-1 updates) misses the TLB on every row. Factor a compact copy (which
    // also gives the leaf loops the contiguous rows they need).
    Workspace<T> buf(a.m * a.n);  // written whole by the copy: not zero-filled first
    const Mat<T> c = rowmajor(buf.data(), a.m, a.n, a.n);
    copy_matrix<T>(a, c);
    const int64_t info = getrf(c, ipiv);
    copy_matrix<T>(c, a);
    return info;
  }
  if (a.n <= kLuBase || mn == 1) return leaf_kernels<T>().getrf_panel(a.m, a.n, a.p, a.rs, ipiv);
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
int64_t potrf_upper(Mat<T> a) {
  const int64_t n = a.m;
  if (n <= kCholBase) return leaf_kernels<T>().potrf_upper_panel(n, a.p, a.rs);
  // [A11 A12; . A22]: U11 = chol(A11), U12 = U11^-T A12 (a left solve on A12's contiguous rows),
  // A22 -= U12^T U12 (the lower triangle of the transposed view, by SYRK), U22 = chol(A22).
  const int64_t n1 = split_point(n), n2 = n - n1;
  const Mat<T> a11 = a.block(0, 0, n1, n1), a12 = a.block(0, n1, n1, n2);
  if (const int64_t info = potrf_upper(a11)) return info;
  trsm_left<T>(true, false, a11.t(), a12);
  syrk_lower<T>(T(-1), a12.t(), T(1), a.block(n1, n1, n2, n2).t());
  if (const int64_t info = potrf_upper(a.block(n1, n1, n2, n2))) return n1 + info;
  return 0;
}

template <class T>
int64_t potrf_lower(Mat<T> a) {
  const int64_t n = a.m;
  if (n <= kCholBase) {  // the leaf loop factors upper triangles: run it on a transposed copy
    T u[kCholBase * kCholBase];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) u[j * n + i] = a(i, j);
    const int64_t info = leaf_kernels<T>().potrf_upper_panel(n, u, n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) a(i, j) = u[j * n + i];
    return info;
  }
  // [A11 . ; A21 A22]: L11 = chol(A11), L21 = A21 L11^-T (L11 L21^T = A21^T, whose base-case
  // blocks blas3 solves in row-major copies), A22 -= L21 L21^T by SYRK, L22 = chol(A22).
  const int64_t n1 = split_point(n), n2 = n - n1;
  const Mat<T> a11 = a.block(0, 0, n1, n1), a21 = a.block(n1, 0, n2, n1);
  if (const int64_t info = potrf_lower(a11)) return info;
  trsm_left<T>(true, false, a11, a21.t());
  syrk_lower<T>(T(-1), a21, T(1), a.block(n1, n1, n2, n2));
  if (const int64_t info = potrf_lower(a.block(n1, n1, n2, n2))) return n1 + info;
  return 0;
}

template <class T>
void geqrf(Mat<T> a, T* tau) {
  const int64_t m = a.m, n = a.n, k = std::min(m, n);
  // Scratch from the storage cache, as ormqr_left's: each buffer is written before it is read.
  Workspace<T> work(std::max(m, n)), tbuf(kQrBlock * kQrBlock);
  Workspace<T> pbuf(m * std::min(kQrBlock, n));
  const QrPanels panels(k);
  for (int64_t s = 0; s < panels.count; ++s) {
    const int64_t j = panels.start(s), jb = panels.start(s + 1) - j, pm = m - j;
    // The panel A[j:, j:j+jb] is factored in a compact copy: in A its rows are a row stride
    // apart, so the column norms and row updates below would miss the TLB on every row.
    const Mat<T> panel = a.block(j, j, pm, jb), p = rowmajor(pbuf.data(), pm, jb, jb);
    for (int64_t i = 0; i < pm; ++i)
      for (int64_t c = 0; c < jb; ++c) p(i, c) = panel(i, c);
    // One reflector at a time (level 2, LAPACK's geqr2).
    for (int64_t i = 0; i < jb; ++i) {
      tau[j + i] = larfg<T>(pm - i, p(i, i), &p(std::min(i + 1, pm - 1), i), p.rs);
      larf_left<T>(tau[j + i], &p(i, i), p.rs, p.block(i, i + 1, pm - i, jb - i - 1), work.data());
    }
    for (int64_t i = 0; i < pm; ++i)
      for (int64_t c = 0; c < jb; ++c) panel(i, c) = p(i, c);
    // The rest of the matrix, by the panel's block reflector (level 3).
    if (j + jb < n) {
      const Mat<T> t = rowmajor(tbuf.data(), jb, jb, jb);
      larft<T>(p, tau + j, t);
      larfb<T>(Side::left, true, p, t, a.block(j, j + jb, pm, n - j - jb));
    }
  }
}

template <class T>
void ormqr_left(Mat<const T> v, const T* tau, bool transpose, Mat<T> c) {
  const int64_t m = v.m, k = v.n;
  Workspace<T> tbuf(kQrBlock * kQrBlock);
  const QrPanels panels(k);
  // Q^T C = H_{k-1} ... H_0 C applies the first block first; Q C the last block first.
  for (int64_t s = 0; s < panels.count; ++s) {
    const int64_t b = transpose ? s : panels.count - 1 - s;
    const int64_t j = panels.start(b), jb = panels.start(b + 1) - j;
    reflect_block_left<T>(v.block(j, j, m - j, jb), tau + j, transpose, c.block(j, 0, m - j, c.n),
                          tbuf.data());
  }
}

#define AFFINE_FACTOR_INSTANTIATE(T)                             \
  template int64_t getrf<T>(Mat<T>, int64_t*);                   \
  template void laswp<T>(Mat<T>, const int64_t*, int64_t, bool); \
  template int64_t potrf_upper<T>(Mat<T>);                       \
  template int64_t potrf_lower<T>(Mat<T>);                       \
  template void geqrf<T>(Mat<T>, T*);                            \
  template void ormqr_left<T>(Mat<const T>, const T*, bool, Mat<T>);
AFFINE_FACTOR_INSTANTIATE(float)
AFFINE_FACTOR_INSTANTIATE(double)
#undef AFFINE_FACTOR_INSTANTIATE

}  // namespace affine::detail::linalg
