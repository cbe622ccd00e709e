// affine::linalg: factorizations, solvers and norms on Tensors, named as in torch.linalg.
//
// Matrices are the last two dimensions; any leading dimensions are a batch (each matrix is
// factored on its own; batch shapes of two operands broadcast as in matmul). float32 and float64;
// both operands of a two-operand function share one dtype (no promotion, as everywhere in affine).
// Algorithms are blocked (LAPACK's right-looking/recursive LU and Cholesky, compact-WY Householder
// QR, Householder tridiagonalisation/bidiagonalisation with an implicit-shift QR iteration), so
// most of their flops run in affine's packed GEMM; results are bit-identical for any thread count.
//
// Accuracy is stated as backward error, as LAPACK states it: with u the unit roundoff of the dtype
// (2^-24 or 2^-53), the factors returned satisfy ||A - factors||_F <= c * n * u * ||A||_F, and
// orthogonal factors ||Q^T Q - I||_F <= c * n * u, for a small constant c that
// tests/linalg_test.cpp checks (see the comment on each function for the constant the tests use).
//
// Errors (affine::Error, naming the function and the shapes or values): non-square input where a
// square matrix is needed; batch shapes that do not broadcast; a singular matrix given to solve/inv
// ("solve: matrix is singular (U[3,3] = 0)"); a matrix that is not positive definite given to
// cholesky ("cholesky: the leading minor of order 3 is not positive definite"). NaN or Inf input:
// factorizations propagate NaN into their outputs (they do not throw), except the pivot checks
// above, which a NaN pivot fails; eigh/eigvalsh/svd/svdvals (and what is built on them) return NaN
// in every output when any entry they read is NaN or Inf. Empty matrices (0 x n) are handled as numpy does: det of a 0 x 0
// matrix is 1, factors of an empty matrix are empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "affine/tensor/export.hpp"
#include "affine/tensor/shape.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::linalg {

// ---- LU with partial pivoting ------------------------------------------------------------------
/// The compact LU factorization P A = L U of a square (batch of) matrix.
struct AFFINE_API LU {
  Tensor LU;      ///< [..., n, n]: U on and above the diagonal, L (unit diagonal) below it
  Tensor pivots;  ///< [..., n] int64, 0-based: row i was swapped with row pivots[i], in order
};
/// Factors A [..., n, n] as P A = L U with partial pivoting (blocked, right-looking). Does not
/// throw for singular A (a zero lands on U's diagonal); lu_solve/solve/inv do.
AFFINE_API LU lu_factor(const Tensor& A);
/// Solves A X = B given lu_factor(A); B is [..., n, k]. Throws for an exactly singular U.
AFFINE_API Tensor lu_solve(const Tensor& LU, const Tensor& pivots, const Tensor& B);
/// Solves A X = B for square A [..., n, n]; B is [..., n, k] or [n] (a vector, when A is 2-D).
AFFINE_API Tensor solve(const Tensor& A, const Tensor& B);
/// The inverse of square A. Throws for singular A, naming the zero pivot.
AFFINE_API Tensor inv(const Tensor& A);
/// The determinant of square A (shape [...]).
AFFINE_API Tensor det(const Tensor& A);
/// sign(det A) and log|det A| (shape [...] each); sign 0 and logabsdet -inf for singular A.
struct AFFINE_API Slogdet {
  Tensor sign;
  Tensor logabsdet;
};
AFFINE_API Slogdet slogdet(const Tensor& A);

// ---- Cholesky and triangular solves ------------------------------------------------------------
/// The Cholesky factor of symmetric positive-definite A: lower L with A = L L^T (or upper U with
/// A = U^T U when upper). Reads only the named triangle. Throws naming the failing leading minor.
AFFINE_API Tensor cholesky(const Tensor& A, bool upper = false);
/// Solves A X = B given A's Cholesky factor (lower by default), as torch.cholesky_solve(B, L).
AFFINE_API Tensor cholesky_solve(const Tensor& B, const Tensor& L, bool upper = false);
/// Solves op(A) X = B (left) or X op(A) = B (right) for triangular A, reading only the named
/// triangle of A; with unitriangular the diagonal is taken as ones and not read. Blocked TRSM
/// whose off-diagonal updates run in the GEMM. Throws for a zero on the diagonal.
AFFINE_API Tensor solve_triangular(const Tensor& A, const Tensor& B, bool upper, bool left = true,
                                   bool unitriangular = false);

// ---- QR
// ------------------------------------------------------------------------------------------
struct AFFINE_API QR {
  Tensor Q;  ///< [..., m, k] orthonormal columns ("reduced", k = min(m, n)), [..., m, m]
             ///< ("complete"), or undefined ("r")
  Tensor R;  ///< [..., k, n] ("reduced", "r") or [..., m, n] ("complete"), upper triangular
};
/// Householder QR of A [..., m, n] (blocked, compact WY). mode is "reduced", "complete" or "r".
AFFINE_API QR qr(const Tensor& A, std::string_view mode = "reduced");

// ---- symmetric eigenproblem --------------------------------------------------------------------
struct AFFINE_API Eigh {
  Tensor eigenvalues;   ///< [..., n], ascending
  Tensor eigenvectors;  ///< [..., n, n], column i belongs to eigenvalue i, orthonormal
};
/// Eigen-decomposition of symmetric A = V diag(w) V^T, reading only the lower triangle
/// (uplo = 'L', as torch) or the upper one ('U'). Householder tridiagonalisation, divide and
/// conquer on the tridiagonal (LAPACK's syevd method), blocked back-transformation. Tested:
/// ||A V - V diag(w)||_F <= 4 n u ||A||_F and ||V^T V - I||_F <= 8 n u. Signs: the largest entry
/// of each eigenvector is positive.
AFFINE_API Eigh eigh(const Tensor& A, char uplo = 'L');
/// The eigenvalues of symmetric A, ascending (no vectors: cheaper; the implicit QL iteration).
AFFINE_API Tensor eigvalsh(const Tensor& A, char uplo = 'L');

// ---- singular value decomposition --------------------------------------------------------------
struct AFFINE_API SVD {
  Tensor U;   ///< [..., m, k] (k = min(m, n)) or [..., m, m] with full_matrices
  Tensor S;   ///< [..., k], descending, non-negative
  Tensor Vh;  ///< [..., k, n] or [..., n, n] with full_matrices
};
/// A = U diag(S) Vh. full_matrices = true (torch's default) gives square U and Vh. Householder
/// bidiagonalisation, divide and conquer on the bidiagonal (LAPACK's gesdd method). Tested:
/// ||A - U diag(S) Vh||_F <= 4 max(m, n) u ||A||_F, ||U^T U - I||_F and ||Vh Vh^T - I||_F <=
/// 8 max(m, n) u. Signs: the largest entry of each column of U is positive (the matching row of
/// Vh follows).
AFFINE_API SVD svd(const Tensor& A, bool full_matrices = true);
/// The singular values of A, descending (no vectors: cheaper; the Golub-Kahan QR iteration).
AFFINE_API Tensor svdvals(const Tensor& A);

// ---- least squares, pseudo-inverse, rank, condition --------------------------------------------
struct AFFINE_API Lstsq {
  Tensor solution;         ///< [..., n, k]
  Tensor residuals;        ///< [..., k]: squared residual norms when m > n and A has full rank,
                           ///< else an empty tensor (as torch)
  Tensor rank;             ///< [...] int64 (the effective rank used)
  Tensor singular_values;  ///< [..., min(m, n)] for driver "gelsd", else empty
};
/// Minimises ||A X - B||_F for A [..., m, n], B [..., m, k] (or [m]). driver "gelsd" (default):
/// SVD, handles rank deficiency, singular values below rcond * S_max are treated as zero
/// (rcond defaults to eps * max(m, n)); "gels": Householder QR, A must have full rank (throws
/// naming the zero diagonal of R otherwise). For m < n and full rank, the minimum-norm solution.
AFFINE_API Lstsq lstsq(const Tensor& A, const Tensor& B, std::optional<double> rcond = std::nullopt,
                       std::string_view driver = "gelsd");
/// The Moore-Penrose pseudo-inverse via the SVD; singular values <= max(atol, rtol * S_max) are
/// dropped (rtol defaults to eps * max(m, n) when atol is not given, else 0). hermitian uses eigh.
AFFINE_API Tensor pinv(const Tensor& A, std::optional<double> atol = std::nullopt,
                       std::optional<double> rtol = std::nullopt, bool hermitian = false);
/// The number of singular values > max(atol, rtol * S_max) (tolerances as pinv); int64 [...].
AFFINE_API Tensor matrix_rank(const Tensor& A, std::optional<double> atol = std::nullopt,
                              std::optional<double> rtol = std::nullopt, bool hermitian = false);
/// The condition number in the 2-norm, S_max / S_min (inf for singular A); shape [...].
AFFINE_API Tensor cond(const Tensor& A);

// ---- norms
// ---------------------------------------------------------------------------------------
/// Matrix norm over the last two dimensions: ord "fro" (Frobenius) or "nuc" (nuclear: sum of
/// singular values).
AFFINE_API Tensor matrix_norm(const Tensor& A, std::string_view ord = "fro", bool keepdim = false);
/// Matrix norm with a numeric ord: 2 / -2 (largest / smallest singular value), 1 / -1 (max / min
/// column abs sum), +inf / -inf (max / min row abs sum).
AFFINE_API Tensor matrix_norm(const Tensor& A, double ord, bool keepdim = false);
/// Vector norm (sum |x|^ord)^(1/ord) over dims (all elements when dims is empty); ord may be
/// 0 (count of non-zeros), +inf (max |x|) or -inf (min |x|). Scaled to avoid overflow.
AFFINE_API Tensor vector_norm(const Tensor& x, double ord = 2, const Axes& dims = {},
                              bool keepdim = false);

}  // namespace affine::linalg
