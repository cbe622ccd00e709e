// Internal: the matrix view every linalg kernel works on, and GEMM on views.
//
// A Mat is (pointer, rows, cols, row stride, column stride), in elements, like gemm_strided's
// operands: a transpose or a sub-block is another Mat over the same memory, so one kernel written
// for, say, a left-side lower-triangular solve also serves the right-side and upper cases through
// transposed views (blas3.hpp) and nothing is copied to change layout.
#pragma once

#include <cstdint>

#include "affine/tensor/gemm.hpp"

namespace affine::detail::linalg {

template <class T>
struct Mat {
  T* p = nullptr;
  int64_t m = 0, n = 0;    ///< rows, columns
  int64_t rs = 0, cs = 1;  ///< element (i, j) is p[i * rs + j * cs]

  T& operator()(int64_t i, int64_t j) const { return p[i * rs + j * cs]; }
  /// The rows x cols block whose top-left element is (i, j).
  Mat block(int64_t i, int64_t j, int64_t rows, int64_t cols) const {
    return {p + i * rs + j * cs, rows, cols, rs, cs};
  }
  /// The transpose (same memory).
  Mat t() const { return {p, n, m, cs, rs}; }
  /// A read-only view of the same matrix.
  operator Mat<const T>() const {
    return {p, m, n, rs, cs};
  }  // NOLINT(google-explicit-constructor)
};

/// A dense row-major view of rows x cols elements at p with row stride ld.
template <class T>
Mat<T> rowmajor(T* p, int64_t rows, int64_t cols, int64_t ld) {
  return {p, rows, cols, ld, 1};
}

/// C := alpha * A * B + beta * C on views (A m x k, B k x n, C m x n), through affine's GEMM.
/// A C with contiguous columns (a transposed view) is computed as C^T = B^T A^T, so the
/// micro-kernel always stores along contiguous rows (its fast path).
template <class T>
void gemm(T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c) {
  if (c.cs != 1 && c.rs == 1) {
    gemm(alpha, b.t(), a.t(), beta, c.t());
    return;
  }
  gemm_strided(c.m, c.n, a.n, alpha, a.p, a.rs, a.cs, b.p, b.rs, b.cs, beta, c.p, c.rs, c.cs);
}

}  // namespace affine::detail::linalg
