// Recursive TRSM and SYRK on the packed GEMM (see blas3.hpp).
#include "linalg/blas3.hpp"

#include "gemm/kernel.hpp"
#include "linalg/leaf.hpp"

#include <algorithm>

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
  if (b.cs == 1) {  // rows of B contiguous: row axpys (leaf.hpp)
    leaf_kernels<T>().trsm_rows(lower, unit, n, k, a.p, a.rs, a.cs, b.p, b.rs);
    return;
  }
  // Otherwise solve row-major copies of column tiles: the row form's axpys vectorise, where dot
  // products down strided columns would be latency-bound scalar reductions. A tile (n x kTile,
  // at most 8 KiB in double) stays in L1 while it is copied, solved and copied back; one copy of
  // all of B would put every row of it a page apart (a TLB miss per element copied). When B's
  // columns are contiguous (a transposed view, as potrf_lower's right-hand sides are), the copies
  // are transposes, done by the GEMM family's vectorised block transpose.
  constexpr int64_t kTile = 32;
  alignas(64) T buf[kTrsmBase * kTile];
  const ::affine::detail::gemm::TransposeKernel<T> transpose =
      b.rs == 1 ? ::affine::detail::gemm::active_kernels_for<T>().transpose : nullptr;
  for (int64_t j0 = 0; j0 < k; j0 += kTile) {
    const int64_t w = std::min(kTile, k - j0);
    const Mat<T> c = rowmajor(buf, n, w, w), bj = b.block(0, j0, n, w);
    if (transpose != nullptr) {
      transpose(w, n, bj.p, bj.cs, buf, w);
    } else {
      for (int64_t j = 0; j < w; ++j)
        for (int64_t i = 0; i < n; ++i) c(i, j) = bj(i, j);
    }
    trsm_base<T>(lower, unit, a, c);
    if (transpose != nullptr) {
      transpose(n, w, buf, w, bj.p, bj.cs);
    } else {
      for (int64_t j = 0; j < w; ++j)
        for (int64_t i = 0; i < n; ++i) bj(i, j) = c(i, j);
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

namespace {

// C := alpha (A B^T + B A^T) + beta C when both, else alpha A B^T + beta C (B = A for SYRK), on
// the lower triangle only: the diagonal blocks recurse, the block below them is one or two GEMMs.
template <class T>
void lower_update(T alpha, Mat<const T> a, Mat<const T> b, bool both, T beta, Mat<T> c) {
  const int64_t n = c.m;
  if (n == 0) return;
  if (n <= kSyrkBase) {
    // A staircase through GEMM into scratch (on the stack: a heap block per call, zeroed, was
    // 2-3% of potrf), then only its lower triangle into C. Strips of about n / 4 rows, each as
    // wide as its last row needs: 5/8 of the square's products where the whole square took 8/8
    // and the triangle needs 4/8, in four GEMM calls (the square's waste was ~10% of potrf at
    // n = 96 to 1024 on Zen 1; recursing down to 16 rows saved the same products in seven calls,
    // and the calls' fixed costs lost it again at n = 64).
    alignas(64) T tmp[kSyrkBase * kSyrkBase];
    const Mat<T> t = rowmajor(tmp, n, n, n);
    const int64_t h = std::max<int64_t>(8, (n / 4 + 7) / 8 * 8);  // a multiple of 8, as splits
    for (int64_t r0 = 0; r0 < n; r0 += h) {
      const int64_t rows = std::min(h, n - r0), cols = r0 + rows;
      const Mat<T> strip = t.block(r0, 0, rows, cols);
      gemm<T>(alpha, a.block(r0, 0, rows, a.n), b.block(0, 0, cols, b.n).t(), T(0), strip);
      if (both)
        gemm<T>(alpha, b.block(r0, 0, rows, b.n), a.block(0, 0, cols, a.n).t(), T(1), strip);
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) c(i, j) = t(i, j) + (beta == T(0) ? T(0) : beta * c(i, j));
    return;
  }
  const int64_t n1 = split_point(n), n2 = n - n1;
  const auto top = [n1](Mat<const T> x) { return x.block(0, 0, n1, x.n); };
  const auto bottom = [n1, n2](Mat<const T> x) { return x.block(n1, 0, n2, x.n); };
  lower_update(alpha, top(a), top(b), both, beta, c.block(0, 0, n1, n1));
  gemm<T>(alpha, bottom(a), top(b).t(), beta, c.block(n1, 0, n2, n1));
  if (both) gemm<T>(alpha, bottom(b), top(a).t(), T(1), c.block(n1, 0, n2, n1));
  lower_update(alpha, bottom(a), bottom(b), both, beta, c.block(n1, n1, n2, n2));
}

}  // namespace

template <class T>
void syrk_lower(T alpha, Mat<const T> a, T beta, Mat<T> c) {
  lower_update(alpha, a, a, false, beta, c);
}

template <class T>
void syr2k_lower(T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c) {
  lower_update(alpha, a, b, true, beta, c);
}

template void trsm_left<float>(bool, bool, Mat<const float>, Mat<float>);
template void trsm_left<double>(bool, bool, Mat<const double>, Mat<double>);
template void syrk_lower<float>(float, Mat<const float>, float, Mat<float>);
template void syrk_lower<double>(double, Mat<const double>, double, Mat<double>);
template void syr2k_lower<float>(float, Mat<const float>, Mat<const float>, float, Mat<float>);
template void syr2k_lower<double>(double, Mat<const double>, Mat<const double>, double,
                                  Mat<double>);

}  // namespace affine::detail::linalg
