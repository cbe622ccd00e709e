// Internal: the level-3 building blocks of the factorizations, on affine's GEMM.
//
// All are recursive (Gustavson / ReLAPACK style): split the triangle in two, recurse on the
// halves, and update the off-diagonal block with one GEMM. Nearly all flops of an n x n problem
// then run in GEMM calls of size ~n/2, ~n/4, ...; only blocks of at most kBase rows are done by
// plain loops. Results are deterministic for any thread count (GEMM is, and nothing else is
// threaded). Other variants come from views: X op(A) = B is op(A)^T X^T = B^T, i.e. trsm_left on
// A.t() and B.t(), and the transpose of an upper-triangular A is a lower one.
#pragma once

#include "linalg/matview.hpp"

namespace affine::detail::linalg {

/// Solves A X = B in place (B := A^-1 B) for triangular A (n x n), B n x k. lower selects
/// which triangle of A is read (the other is never touched); unit takes the diagonal as ones
/// without reading it. A zero on the diagonal yields Inf/NaN, as in BLAS: callers check first.
template <class T>
void trsm_left(bool lower, bool unit, Mat<const T> a, Mat<T> b);

/// C := alpha A A^T + beta C on the lower triangle of C (n x n) only; A is n x k. The strictly
/// upper triangle of C is neither read nor written.
template <class T>
void syrk_lower(T alpha, Mat<const T> a, T beta, Mat<T> c);

/// C := alpha (A B^T + B A^T) + beta C on the lower triangle of C (n x n) only; A and B are n x k.
/// The strictly upper triangle of C is neither read nor written.
template <class T>
void syr2k_lower(T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c);

}  // namespace affine::detail::linalg
