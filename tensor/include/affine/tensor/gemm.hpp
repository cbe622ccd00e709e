// General matrix multiply, the hot path of affine: C := alpha * op(A) * op(B) + beta * C.
//
// Two entry points share one implementation (tensor/src/gemm/):
//  - gemm(): the BLAS-like row-major interface with transpose flags and leading dimensions;
//  - gemm_strided(): the BLIS-like interface, every matrix given by (row stride, column stride),
//    which is what Tensor::matmul uses to pass transposed and sliced views without copying.
// Contract (both): beta == 0 never reads C (NaN there does not leak); alpha == 0 or k == 0 never
// reads A or B; m == 0 or n == 0 touches nothing. Results are bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "affine/tensor/export.hpp"

namespace affine {

/// Whether an operand of gemm() is used as stored or transposed.
enum class Trans { no, yes };

/// Row-major BLAS-style sgemm: C[m x n] := alpha * op(A)[m x k] * op(B)[k x n] + beta * C.
/// lda/ldb/ldc are row strides in elements of the matrices as stored. Throws affine::Error on
/// negative sizes or leading dimensions smaller than the stored row length.
AFFINE_API void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                     int64_t ldc);

/// Row-major BLAS-style dgemm, as the float overload.
AFFINE_API void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                     const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                     double* c, int64_t ldc);

/// BLIS-style general-stride sgemm: element (i, j) of A is a[i * rs_a + j * cs_a], and so on.
/// Strides may be any value except that C must not overlap itself (rs_c, cs_c address distinct
/// elements) and C must not alias A or B.
AFFINE_API void gemm_strided(int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                             int64_t rs_a, int64_t cs_a, const float* b, int64_t rs_b, int64_t cs_b,
                             float beta, float* c, int64_t rs_c, int64_t cs_c);

/// BLIS-style general-stride dgemm, as the float overload.
AFFINE_API void gemm_strided(int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                             int64_t rs_a, int64_t cs_a, const double* b, int64_t rs_b,
                             int64_t cs_b, double beta, double* c, int64_t rs_c, int64_t cs_c);

/// What gemm_tune() measured: the fastest blocking it tried and the one derived from the caches.
/// One cube side of gemm_tune's small-path measurement: float32 C = A B (side^3, row-major).
struct GemmSmallTiming {
  int64_t side;
  double unpacked_gflops;  ///< the small path's kernels, whatever the limit
  double packed_gflops;    ///< the packed path, under the blocking this process uses
};

struct GemmTuning {
  int64_t mc, kc, nc;  ///< the fastest candidate, as AFFINE_GEMM_BLOCKING takes them
  double gflops;       ///< its float32 rate on the tuning problem
  int64_t default_mc, default_kc, default_nc;  ///< the blocking affine would use unasked
  double default_gflops;                       ///< and its rate, measured in the same rounds
  int threads;                                 ///< num_threads() during the measurement
  /// The measured cube side up to which the small path saves the most time over the packed one
  /// (summed over the sides measured), as AFFINE_GEMM_SMALL_MAX takes it; and the side this
  /// process uses (from the cache sizes, or AFFINE_GEMM_SMALL_MAX when set).
  int64_t small_side, default_small_side;
  std::vector<GemmSmallTiming> small_timings;  ///< every side measured, smallest first
};

/// Times the packed float32 GEMM on this machine under a few cache blockings around the one
/// derived from its cache sizes (kc and mc halved to doubled), and the small path against the
/// packed one on cubes from 64^3 to 768^3, for about budget_seconds in all; returns the fastest
/// blocking and the side where the small path stops paying. Nothing changes for this process:
/// export AFFINE_GEMM_BLOCKING=mc,kc,nc and AFFINE_GEMM_SMALL_MAX=side to use the result (the
/// program affine-gemm-tune prints both). Throws affine::Error if budget_seconds is not in
/// (0, 600].
AFFINE_API GemmTuning gemm_tune(double budget_seconds = 5.0);

}  // namespace affine
