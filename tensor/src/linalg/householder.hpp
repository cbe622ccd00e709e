// Internal: Householder reflectors, one at a time and in blocks (LAPACK's larfg/larf/larft/larfb).
//
// A reflector is H = I - tau v v^T with v[0] = 1; it is orthogonal (and symmetric) whenever tau is
// 0 or 2 / (v^T v), which is what larfg produces. Reflectors are stored as LAPACK stores them:
// v[1:] in the zeros they create (below the diagonal for QR and tridiagonalisation), v[0] = 1
// implicit and never read, tau beside them.
//
// A block of k reflectors H = H_0 H_1 ... H_{k-1} is applied as one compact-WY product
// H = I - V T V^T (Schreiber & Van Loan), V m x k unit lower trapezoidal (column j is v_j, its
// entries above row j are zero and entry (j, j) is 1, none of them read), T k x k upper triangular
// from larft. larfb then costs three GEMMs, so a blocked factorization runs most of its flops in
// affine's packed micro-kernel. For reflectors stored by rows (as a bidiagonalisation creates to
// the right of the diagonal), pass the transposed view of the rows: Mat::t() is free.
//
// Everything takes Mat views (matview.hpp), float or double; results are deterministic (no
// threading here beyond GEMM's, which is bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "linalg/matview.hpp"

namespace affine::detail::linalg {

/// The 2-norm of x[0], x[inc], ..., x[(n-1) inc], scaled so it neither overflows nor underflows.
template <class T>
T nrm2(int64_t n, const T* x, int64_t inc);

/// Generates H = I - tau v v^T with H [alpha; x] = [beta; 0] (LAPACK dlarfg). On return alpha
/// holds beta, x (n - 1 entries, stride inc) holds v[1:], and tau is returned; tau == 0 (H = I)
/// when x is already zero. n counts alpha too.
template <class T>
T larfg(int64_t n, T& alpha, T* x, int64_t inc);

/// C := H C with H = I - tau v v^T (one reflector from the left). v has C.m entries at stride inc
/// with v[0] taken as 1 (not read); work has C.n entries.
template <class T>
void larf_left(T tau, const T* v, int64_t inc, Mat<T> c, T* work);

/// C := C H (one reflector from the right). v has C.n entries, v[0] taken as 1; work has C.m.
template <class T>
void larf_right(T tau, const T* v, int64_t inc, Mat<T> c, T* work);

/// The k x k upper-triangular T with H_0 H_1 ... H_{k-1} = I - V T V^T (LAPACK dlarft, forward,
/// columnwise). V is m x k as described above (only the strictly lower part is read); tau has k
/// entries; T's strictly lower part is set to zero. Uses GEMM for V^T V.
template <class T>
void larft(Mat<const T> v, const T* tau, Mat<T> t);

enum class Side { left, right };

/// Applies the block reflector H = I - V T V^T (or its transpose H^T = I - V T^T V^T when
/// transpose) to C from the left (C := op(H) C, V has C.m rows) or the right (C := C op(H), V has
/// C.n rows). V as for larft (strictly lower part read), T from larft (upper part read).
/// Three GEMMs; allocates O((m + n) k) scratch.
template <class T>
void larfb(Side side, bool transpose, Mat<const T> v, Mat<const T> t, Mat<T> c);

inline constexpr int64_t kReflectOneByOne = 32;

/// C := op(H) C for H = H_0 H_1 ... H_{k-1}, the reflectors in V's k columns (as larft reads V)
/// with factors tau. A C of at most kReflectOneByOne rows and columns gets one reflector at a
/// time (larf_left): there forming T and three GEMMs cost more than the rank-1 updates (eigh of
/// 3 x 3 matrices spent ~20% of its time on them). Otherwise larft into t (scratch, at least
/// k x k, row-major) and larfb.
template <class T>
void reflect_block_left(Mat<const T> v, const T* tau, bool transpose, Mat<T> c, T* t);

}  // namespace affine::detail::linalg
