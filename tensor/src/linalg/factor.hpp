// Internal: the factorization kernels behind affine::linalg, on one matrix given as a Mat view
// (the Tensor functions in lu.cpp, cholesky.cpp, qr.cpp batch over them).
//
// Same conventions as LAPACK's getrf/potrf/geqrf/ormqr, 0-based. All are level-3: recursive
// LU and Cholesky (blas3.hpp's TRSM/SYRK and GEMM do almost every flop), blocked compact-WY
// Householder QR (householder.hpp). Deterministic for any thread count.
#pragma once

#include <cstdint>

#include "linalg/matview.hpp"

namespace affine::detail::linalg {

/// P A = L U with partial pivoting, in place (A m x n; unit L below the diagonal, U on and
/// above). ipiv has min(m, n) entries: row i was swapped with row ipiv[i] (>= i), in order.
/// Returns the index of the first exactly-zero pivot U[i, i], or -1 (the factorization completes
/// either way, as LAPACK's).
template <class T>
int64_t getrf(Mat<T> a, int64_t* ipiv);

/// Applies the row interchanges ipiv[0..k) to the rows of B: in order (P B) or in reverse
/// (P^T B).
template <class T>
void laswp(Mat<T> b, const int64_t* ipiv, int64_t k, bool reverse = false);

/// A = U^T U in place on the upper triangle of A (n x n, rows contiguous: cs == 1; the strictly
/// lower part is neither read nor written). Upper rather than lower because in row-major storage
/// its triangular solves and updates run along contiguous rows. Returns 0, or the order
/// (1-based) of the first leading minor that is not positive definite (a NaN minor counts as not
/// positive definite).
template <class T>
int64_t potrf_upper(Mat<T> a);

/// A = L L^T in place on the lower triangle (the strictly upper part is neither read nor
/// written); same return value. Measured faster than transposing into potrf_upper and back.
template <class T>
int64_t potrf_lower(Mat<T> a);

/// A = Q R in place (A m x n): R on and above the diagonal, the Householder vectors below it,
/// tau[min(m, n)] beside them (LAPACK's geqrf layout).
template <class T>
void geqrf(Mat<T> a, T* tau);

/// C := Q C (transpose false) or Q^T C (true), Q = H_0 ... H_{k-1} from geqrf's reflectors:
/// v is the m x k lower part of geqrf's output (k = number of reflectors), C has m rows.
template <class T>
void ormqr_left(Mat<const T> v, const T* tau, bool transpose, Mat<T> c);

}  // namespace affine::detail::linalg
