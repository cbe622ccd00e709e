// Differentiable affine::linalg: Var overloads of the tensor-level functions in
// affine/tensor/linalg.hpp, each with its vector-Jacobian product beside its forward in
// autograd/src/linalg_*.cpp. Semantics, shapes, batching and errors are those of the Tensor
// functions; a Tensor argument is a constant (Var is implicitly constructible from a Tensor).
// Every VJP is checked with gradcheck in float64 (tests/linalg_grad_test.cpp).
#pragma once

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

}  // namespace affine::linalg
