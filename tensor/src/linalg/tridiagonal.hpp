// Internal: the symmetric eigenproblem's kernels, on column-major matrices.
//  1. reduce_to_tridiagonal: Q^T A Q = T by Householder reflectors (LAPACK's blocked sytrd,
//     lower: latrd panels and a SYR2K trailing update on the GEMM);
//  2. tridiagonal_ql: the eigenvalues of T by the implicit-shift QL iteration (EISPACK's tql2),
//     its rotations accumulated into Z (rotations.hpp);
//  2'. tridiagonal_dc: the eigenvalues and eigenvectors of T by divide and conquer (LAPACK's
//     stedc), faster than accumulating the QL rotations for all but small n;
//  3. apply_tridiagonal_q: Z := Q Z, turning T's eigenvectors into A's.
#pragma once

#include <cstdint>

namespace affine::detail::linalg {

/// Reduces the symmetric n x n matrix a (column-major, leading dimension lda; only the lower
/// triangle is read) to tridiagonal form: d [n] the diagonal, e [n - 1] the subdiagonal. The
/// reflectors are left below the subdiagonal of a with their factors in tau [n - 1].
template <class T>
void reduce_to_tridiagonal(int64_t n, T* a, int64_t lda, T* d, T* e, T* tau);

/// z [n x ncols] := Q z, Q = H(0) ... H(n-2) as reduce_to_tridiagonal left it in a and tau.
template <class T>
void apply_tridiagonal_q(int64_t n, const T* a, int64_t lda, const T* tau, T* z, int64_t ncols,
                         int64_t ldz);

/// Eigenvalues of the symmetric tridiagonal matrix (d [n] diagonal, e [n] with e[i] = T(i+1, i)
/// and e[n-1] ignored; both overwritten) into d, unsorted. When z is not null, z [n x n] (ldz)
/// is multiplied by the rotations on the right, so starting from the identity it ends as T's
/// eigenvectors (column i for d[i]). Returns false if the iteration did not converge.
template <class T>
bool tridiagonal_ql(int64_t n, T* d, T* e, T* z, int64_t ldz);

/// The eigenvalues (into d [n], unsorted) and eigenvectors (q [n x n], ldq, overwritten: column i
/// for d[i]) of the symmetric tridiagonal matrix with diagonal d and subdiagonal e [n - 1], by
/// divide and conquer (tridiagonal_dc.cpp): most of its work in GEMMs where tridiagonal_ql's is
/// in rotations. Returns false if the QL iteration on a small subproblem did not converge.
template <class T>
bool tridiagonal_dc(int64_t n, T* d, const T* e, T* q, int64_t ldq);

}  // namespace affine::detail::linalg
