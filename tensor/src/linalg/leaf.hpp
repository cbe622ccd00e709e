// Internal: the few non-GEMM loops of the factorizations, compiled once per ISA.
//
// Everything outside the *_avx2.cpp / *_avx512.cpp files is built for baseline x86-64 (SSE2, no
// FMA), which would leave the loops that GEMM does not cover (the base cases of the recursive
// TRSM, LU and Cholesky, and the QR panel's reflector applications) at a quarter of the machine.
// leaf_impl.hpp writes them once as plain loops; leaf_generic.cpp, leaf_avx2.cpp and
// leaf_avx512.cpp compile them with their ISA's flags (and fused multiply-adds where the ISA has
// them), and leaf_kernels() picks the table for active_isa() once. The loops take raw pointers
// and row strides (rows are contiguous: column stride 1) and call no inline helper shared with
// other translation units, so no code compiled for one ISA can be linked into another's path.
#pragma once

#include <cstdint>

namespace affine::detail::linalg {

template <class T>
struct LeafKernels {
  /// B := A^-1 B for triangular n x n A (element (i, p) at a[i * ars + p * acs]; lower or upper
  /// triangle read, unit diagonal not read), B n x k with rows contiguous (row stride brs).
  void (*trsm_rows)(bool lower, bool unit, int64_t n, int64_t k, const T* a, int64_t ars,
                    int64_t acs, T* b, int64_t brs);
  /// Unblocked LU with partial pivoting of an m x n panel with contiguous rows (row stride rs);
  /// ipiv and the return value as getrf (factor.hpp).
  int64_t (*getrf_panel)(int64_t m, int64_t n, T* a, int64_t rs, int64_t* ipiv);
  /// Unblocked Cholesky A = U^T U on the upper triangle of n x n A (row stride rs); returns 0 or
  /// the order of the first leading minor that is not positive definite.
  int64_t (*potrf_upper_panel)(int64_t n, T* a, int64_t rs);
  /// C := (I - tau v v^T) C for m x n C with contiguous rows (row stride rs); v[0] is taken as 1,
  /// v[i] = v[i * inc]; work has n entries.
  void (*larf_rows)(T tau, const T* v, int64_t inc, int64_t m, int64_t n, T* c, int64_t rs,
                    T* work);
  /// y := A x for symmetric k x k A of which only the lower triangle is read (element (r, j),
  /// r >= j, at a[r + j * lda]: column-major); x and y contiguous, y overwritten.
  void (*symv_lower)(int64_t k, const T* a, int64_t lda, const T* x, T* y);
  /// y := A x, or y += A x when accumulate, for m x n column-major A (element (r, j) at
  /// a[r + j * lda]), x[j] at x[j * incx], y contiguous.
  void (*gemv_columns)(int64_t m, int64_t n, const T* a, int64_t lda, const T* x, int64_t incx,
                       bool accumulate, T* y);
  /// y[j] := A(:, j) . x for the n columns of m x n column-major A (as above), x contiguous.
  void (*gemv_dots)(int64_t m, int64_t n, const T* a, int64_t lda, const T* x, T* y);
};

struct LeafTable {
  LeafKernels<float> f32;
  LeafKernels<double> f64;
};

const LeafTable& leaf_table_generic();
#if defined(__x86_64__) || defined(_M_X64)
const LeafTable& leaf_table_avx2();
const LeafTable& leaf_table_avx512();
#endif

/// The active ISA's kernels.
template <class T>
const LeafKernels<T>& leaf_kernels();

}  // namespace affine::detail::linalg
