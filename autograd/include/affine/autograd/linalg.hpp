// Differentiable affine::linalg: Var overloads of the tensor-level functions in
// affine/tensor/linalg.hpp, each with its vector-Jacobian product beside its forward in
// autograd/src/linalg_*.cpp. Semantics, shapes, batching and errors are those of the Tensor
// functions; a Tensor argument is a constant (Var is implicitly constructible from a Tensor).
// Every VJP is checked with gradcheck in float64 (tests/linalg_grad_test.cpp).
#pragma once

#include <optional>
#include <string_view>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/linalg.hpp"

namespace affine::linalg {

// ---- LU family ---------------------------------------------------------------------------------
/// X with A X = B. dB = A^-T dX, dA = -dB X^T (computed from A's LU, one factorization).
AFFINE_API Var solve(const Var& A, const Var& B);
/// A^-1. dA = -A^-T dY A^-T.
AFFINE_API Var inv(const Var& A);
/// det(A). dA = dy det(A) A^-T, computed from the LU as a solve (no explicit inverse); for a
/// singular A the gradient is not defined by this formula and the VJP throws (as inv would).
AFFINE_API Var det(const Var& A);
/// sign and log|det A| as Vars; only logabsdet carries a gradient (dA = dl A^-T); sign is
/// piecewise constant.
struct AFFINE_API VarSlogdet {
  Var sign;
  Var logabsdet;
};
AFFINE_API VarSlogdet slogdet(const Var& A);

// ---- Cholesky and triangular solves ------------------------------------------------------------
/// The Cholesky factor; the gradient is symmetric (it flows to both triangles of A equally,
/// as torch's).
AFFINE_API Var cholesky(const Var& A, bool upper = false);
/// X with op(A) X = B or X op(A) = B; the gradient w.r.t. A is confined to the triangle read.
AFFINE_API Var solve_triangular(const Var& A, const Var& B, bool upper, bool left = true,
                                bool unitriangular = false);

// ---- QR ----------------------------------------------------------------------------------------
struct AFFINE_API VarQR {
  Var Q;
  Var R;
};
/// Householder QR; differentiable for mode "reduced" with m >= n (torch's condition). Other
/// modes forward fine but their backward throws.
AFFINE_API VarQR qr(const Var& A, std::string_view mode = "reduced");

// ---- spectral (autograd/src/linalg_spectral.cpp)
// ------------------------------------------------- Symmetric inputs (eigh, pinv with hermitian):
// as torch, the gradient is the symmetric matrix dL/dA for a symmetric perturbation of A (it is not
// confined to the triangle read). Repeated values: a gradient that flows through eigenvectors (or
// singular vectors) is undefined when two eigenvalues (singular values) are exactly equal, and the
// VJP throws an affine::Error naming them; near-equal values give large but finite gradients, as
// torch. Gradients through eigenvalues / singular values alone are always defined.
struct VarEigh {
  Var eigenvalues;
  Var eigenvectors;
};
/// eigh; gA = V (diag(gw) + skew(V^T gV) / E) V^T with E_ij = w_j - w_i (torch's formula, skew(X)
/// = (X - X^T) / 2).
AFFINE_API VarEigh eigh(const Var& A, char uplo = 'L');
/// eigvalsh; gA = V diag(gw) V^T.
AFFINE_API Var eigvalsh(const Var& A, char uplo = 'L');

struct VarSVD {
  Var U;
  Var S;
  Var Vh;
};
/// svd; differentiable with full_matrices = false (torch's condition; with true the backward
/// throws). gA as torch's svd_backward; U's and V's terms also need non-zero singular values when
/// A is not square.
AFFINE_API VarSVD svd(const Var& A, bool full_matrices = true);
/// svdvals; gA = U diag(gS) Vh.
AFFINE_API Var svdvals(const Var& A);

/// pinv; gA by torch's pinv_backward (valid where the rank is locally constant).
AFFINE_API Var pinv(const Var& A, std::optional<double> atol = std::nullopt,
                    std::optional<double> rtol = std::nullopt, bool hermitian = false);

/// lstsq with a differentiable solution X = pinv(A) B (gA, gB from pinv's VJP); residuals, rank
/// and singular values are the Tensor function's, as constants.
struct VarLstsq {
  Var solution;
  Tensor residuals;
  Tensor rank;
  Tensor singular_values;
};
AFFINE_API VarLstsq lstsq(const Var& A, const Var& B, std::optional<double> rcond = std::nullopt,
                          std::string_view driver = "gelsd");

/// matrix_norm for every ord of the Tensor function: "fro" (gA = g A / ||A||, 0 at A = 0), "nuc"
/// (g U Vh), 2 / -2 (g u v^T of the extreme singular pair), 1 / -1 / inf / -inf (through the
/// abs column / row sums: the gradient goes to the first extreme column / row).
AFFINE_API Var matrix_norm(const Var& A, std::string_view ord = "fro", bool keepdim = false);
AFFINE_API Var matrix_norm(const Var& A, double ord, bool keepdim = false);

}  // namespace affine::linalg
