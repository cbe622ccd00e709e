// Internal: the SVD's kernels, on column-major matrices with m >= n.
//  1. reduce_to_bidiagonal: Q^T A P = B upper bidiagonal by Householder reflectors (LAPACK's
//     gebrd), alternately from the left (zeroing a column) and the right (zeroing a row);
//  2. bidiagonal_qr: B's singular values by the implicit-shift QR iteration of Golub and Kahan
//     (LINPACK's dsvdc), its rotations accumulated into U and V (rotations.hpp);
//  2'. bidiagonal_dc: the same by divide and conquer (LAPACK's bdsdc), faster for all but small n;
//  3. apply_bidiagonal_q / apply_bidiagonal_p: U := Q U and V := P V, turning B's singular
//     vectors into A's.
#pragma once

#include <cstdint>

namespace affine::detail::linalg {

/// Reduces a [m x n] (column-major, lda; m >= n) to upper bidiagonal form: d [n] the diagonal,
/// e [n - 1] the superdiagonal. The reflectors stay in a (Q's below the diagonal, P's right of
/// the superdiagonal) with their factors in tauq [n] and taup [n].
template <class T>
void reduce_to_bidiagonal(int64_t m, int64_t n, T* a, int64_t lda, T* d, T* e, T* tauq, T* taup);

/// u [m x ncols] := Q u, Q = H(0) ... H(n-1) from reduce_to_bidiagonal.
template <class T>
void apply_bidiagonal_q(int64_t m, int64_t n, const T* a, int64_t lda, const T* tauq, T* u,
                        int64_t ncols, int64_t ldu);

/// v [n x ncols] := P v, P = G(0) ... G(n-2) from reduce_to_bidiagonal.
template <class T>
void apply_bidiagonal_p(int64_t n, const T* a, int64_t lda, const T* taup, T* v, int64_t ncols,
                        int64_t ldv);

/// Singular values of the upper bidiagonal matrix (d [n], e [n] with e[i] = B(i, i+1), e[n-1]
/// ignored; both overwritten) into d, non-negative but unsorted. When u and v are not null, the
/// n x n matrices u (ldu) and v (ldv) are multiplied on the right by the left and right rotations,
/// so starting from identities B = u diag(d) v^T at the end. Returns false if the iteration did
/// not converge.
template <class T>
bool bidiagonal_qr(int64_t n, T* d, T* e, T* u, int64_t ldu, T* v, int64_t ldv);

/// The singular values (into d [n], non-negative, unsorted) and vectors of the upper bidiagonal
/// matrix with diagonal d and superdiagonal e [n - 1], by divide and conquer (bidiagonal_dc.cpp):
/// u [n x n] (ldu) and v [n x n] (ldv) are overwritten so that B = u diag(d) v^T. Most of its
/// work is in GEMMs where bidiagonal_qr's is in rotations. Returns false if the QR iteration on a
/// small subproblem did not converge.
template <class T>
bool bidiagonal_dc(int64_t n, T* d, const T* e, T* u, int64_t ldu, T* v, int64_t ldv);

}  // namespace affine::detail::linalg
