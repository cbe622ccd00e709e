// Differentiable spectral functions (autograd/linalg.hpp): eigh, eigvalsh, svd, svdvals, pinv,
// lstsq and matrix_norm. Each forward is the tensor-level affine::linalg function; the VJPs
// (torch's formulas, cited beside each) are composed from tensor ops and the same linalg functions.
// A function with several outputs records one node whose value packs them ([..., total]) and
// returns differentiable slices of it, so one VJP sees every output's gradient (as qr in
// linalg_factor.cpp).
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "affine/autograd/linalg.hpp"
#include "affine/autograd/ops.hpp"
#include "affine/tensor/ops.hpp"
#include "affine/tensor/internal/bmm.hpp"
#include "multi_output.hpp"
#include "tape_impl.hpp"

namespace affine::linalg {

using detail::flat_shape;
using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::pack;
using detail::TapeImpl;
using detail::unpack;
using detail::linalg::bmm;
using detail::linalg::mT;

namespace {

bool all_zero(const Tensor& t) { return t.numel() == 0 || max(abs(t)).item() == 0.0; }

// d[..., n] as diagonal matrices [..., n, n].
Tensor diag_embed(const Tensor& d) {
  const int64_t n = d.size(-1);
  return mul(d.unsqueeze(-1), Tensor::eye(n, d.dtype()));
}

// E[..., i, j] = v[j] - v[i] with ones on the diagonal; throws naming the first exactly repeated
// pair (the gradient through vectors is then undefined; see autograd/linalg.hpp).
Tensor gaps(const char* op, const Tensor& v, const char* what) {
  const int64_t n = v.size(-1);
  Tensor e = sub(v.unsqueeze(-2), v.unsqueeze(-1));
  const Tensor eye = Tensor::eye(n, v.dtype());
  const Tensor off = sub(Tensor::ones({n, n}, v.dtype()), eye);
  if (n > 1 && max(mul(eq(e, 0.0), off)).item() != 0.0) {
    const Tensor flat = v.contiguous().reshape({-1, n});
    for (int64_t b = 0; b < flat.size(0); ++b) {
      for (int64_t i = 0; i + 1 < n; ++i) {
        for (int64_t j = i + 1; j < n; ++j) {
          if (flat.get({b, i}) == flat.get({b, j})) {
            throw Error(std::string(op) + " backward: " + what + " " + std::to_string(i) + " and " +
                        std::to_string(j) + " are equal (" + std::to_string(flat.get({b, i})) +
                        "); the gradient through the vectors is not defined for repeated values");
          }
        }
      }
    }
  }
  return add(mul(e, off), eye);
}

}  // namespace

// ---- eigh: gA = V (diag(gw) + skew(V^T gV) / E) V^T,  E_ij = w_j - w_i,  skew(X) = (X - X^T)/2
// (the symmetric projection of torch's linalg_eig_backward, hermitian case) ----------------------
namespace {
void eigh_vjp(TapeImpl& t, Node& n) {
  const Tensor& w = n.saved[0];
  const Tensor& V = n.saved[1];
  const int64_t k = w.size(-1);
  const Tensor gw = unpack(n.grad, 0, w.shape());
  const Tensor gV = unpack(n.grad, k, V.shape());
  Tensor inner = diag_embed(gw);
  if (!all_zero(gV)) {
    const Tensor X = bmm(mT(V), gV);
    const Tensor skew = mul(sub(X, mT(X)), 0.5);
    inner = add(inner, div(skew, gaps("eigh", w, "eigenvalues")));
  }
  t.accumulate(n.in[0], bmm(bmm(V, inner), mT(V)));
}
}  // namespace

VarEigh eigh(const Var& A, char uplo) {
  OpTape rec = op_begin("eigh", {&A});
  Eigh e = eigh(A.value(), uplo);
  if (!rec) return {Var(e.eigenvalues), Var(e.eigenvectors)};
  Node& n = rec.record(pack({{e.eigenvalues, 1}, {e.eigenvectors, 2}}), &eigh_vjp, {&A});
  n.saved[0] = e.eigenvalues;
  n.saved[1] = e.eigenvectors;
  const Var p = rec.var;
  return {unpack(p, 0, e.eigenvalues.shape()),
          unpack(p, e.eigenvalues.size(-1), e.eigenvectors.shape())};
}

Var eigvalsh(const Var& A, char uplo) { return eigh(A, uplo).eigenvalues; }

// ---- svd (reduced): torch's svd_backward, real case:
//   gA = U [ (skew(U^T gU) / E) S + S (skew(V^T gV) / E) + diag(gS) ] V^T
//        + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),
//   skew(X) = X - X^T, E_jk = S_k^2 - S_j^2 ------------------------------------------------------
namespace {
void svd_vjp(TapeImpl& t, Node& n) {
  const Tensor& U = n.saved[0];
  const Tensor& Vh = n.saved[1];
  const int64_t k = U.size(-1), m = U.size(-2), nn = Vh.size(-1);
  Shape s_shape = flat_shape(U, 2);
  s_shape[s_shape.size() - 1] = k;
  const Tensor S = unpack(n.value, m * k, s_shape);
  const Tensor gU = unpack(n.grad, 0, U.shape());
  const Tensor gS = unpack(n.grad, m * k, s_shape);
  const Tensor gVh = unpack(n.grad, m * k + k, Vh.shape());
  const bool has_u = !all_zero(gU), has_v = !all_zero(gVh);
  Tensor inner = diag_embed(gS);
  const Tensor V = mT(Vh), gV = mT(gVh);
  if (has_u || has_v) {
    gaps("svd", S, "singular values");  // throws for repeated singular values
    const Tensor E = gaps("svd", square(S), "squared singular values");
    const Tensor Srow = S.unsqueeze(-2), Scol = S.unsqueeze(-1);
    if (has_u) {
      const Tensor X = bmm(mT(U), gU);
      inner = add(inner, mul(div(sub(X, mT(X)), E), Srow));
    }
    if (has_v) {
      const Tensor X = bmm(Vh, gV);
      inner = add(inner, mul(Scol, div(sub(X, mT(X)), E)));
    }
  }
  Tensor gA = bmm(bmm(U, inner), Vh);
  if ((has_u && m > k) || (has_v && nn > k)) {
    if (min(S).item() == 0.0) {
      throw Error(
          "svd backward: a singular value is 0 in a non-square A; the gradient through U "
          "or Vh is not defined there");
    }
    const Tensor Sinv = div(1.0, S);
    if (has_u && m > k) {  // (I - U U^T) gU S^-1 V^T
      const Tensor proj = sub(gU, bmm(U, bmm(mT(U), gU)));
      gA = add(gA, bmm(mul(proj, Sinv.unsqueeze(-2)), Vh));
    }
    if (has_v && nn > k) {  // U S^-1 gV^T (I - V V^T)
      const Tensor proj = sub(gVh, bmm(bmm(gVh, V), Vh));
      gA = add(gA, bmm(mul(U, Sinv.unsqueeze(-2)), proj));
    }
  }
  t.accumulate(n.in[0], gA);
}
}  // namespace

VarSVD svd(const Var& A, bool full_matrices) {
  OpTape rec = op_begin("svd", {&A});
  SVD f = svd(A.value(), full_matrices);
  if (!rec) return {Var(f.U), Var(f.S), Var(f.Vh)};
  if (full_matrices && A.value().size(-1) != A.value().size(-2)) {
    throw Error("svd: the gradient is implemented for full_matrices = false (or square A), got A " +
                to_string(A.shape()));
  }
  Node& n = rec.record(pack({{f.U, 2}, {f.S, 1}, {f.Vh, 2}}), &svd_vjp, {&A});
  n.saved[0] = f.U;
  n.saved[1] = f.Vh;
  const Var p = rec.var;
  const int64_t uk = f.U.size(-2) * f.U.size(-1), k = f.S.size(-1);
  return {unpack(p, 0, f.U.shape()), unpack(p, uk, f.S.shape()), unpack(p, uk + k, f.Vh.shape())};
}

Var svdvals(const Var& A) { return svd(A, false).S; }

// ---- pinv: torch's pinv_backward ---------------------------------------------------------------
namespace {
Tensor pinv_grad(const Tensor& g, const Tensor& X, const Tensor& A) {
  const int64_t m = A.size(-2), n = A.size(-1);
  const Tensor Xh = mT(X), gh = mT(g);
  if (m <= n) {
    const Tensor K = bmm(gh, X);
    const Tensor KXh = bmm(K, Xh);
    return add(sub(add(neg(mT(bmm(X, K))), KXh), bmm(bmm(A, X), KXh)),
               bmm(bmm(Xh, X), sub(gh, bmm(K, A))));
  }
  const Tensor K = bmm(X, gh);
  const Tensor XhK = bmm(Xh, K);
  return add(sub(add(neg(mT(bmm(K, X))), XhK), bmm(XhK, bmm(X, A))),
             bmm(sub(gh, bmm(A, K)), bmm(X, Xh)));
}

void pinv_vjp(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], pinv_grad(n.grad, n.value, n.saved[0]));
}
}  // namespace

Var pinv(const Var& A, std::optional<double> atol, std::optional<double> rtol, bool hermitian) {
  OpTape rec = op_begin("pinv", {&A});
  Tensor X = pinv(A.value(), atol, rtol, hermitian);
  if (!rec) return Var(std::move(X));
  Node& n = rec.record(X, &pinv_vjp, {&A});
  n.saved[0] = A.value();
  return rec.var;
}

// ---- lstsq: X = pinv(A) B;  gB = pinv(A)^T gX,  gA = pinv_backward(gX B^T) ---------------------
namespace {
void lstsq_vjp(TapeImpl& t, Node& n) {
  const Tensor& A = n.saved[0];
  const Tensor& B = n.saved[1];
  const bool vec = n.value.rank() == B.rank() && B.rank() == A.rank() - 1;
  const Tensor Bm = vec ? B.unsqueeze(-1) : B;
  const Tensor g = vec ? n.grad.unsqueeze(-1) : n.grad;
  const Tensor X =
      pinv(A, std::nullopt, n.scalar[0] >= 0 ? std::optional<double>(n.scalar[0]) : std::nullopt);
  if (t.needs_grad(n.in[0]))
    t.accumulate(n.in[0], detail::reduce_to(pinv_grad(bmm(g, mT(Bm)), X, A), A.shape()));
  if (t.needs_grad(n.in[1])) {
    const Tensor gB = bmm(mT(X), g);
    t.accumulate(n.in[1], detail::reduce_to(vec ? gB.squeeze(-1) : gB, B.shape()));
  }
}
}  // namespace

VarLstsq lstsq(const Var& A, const Var& B, std::optional<double> rcond, std::string_view driver) {
  OpTape rec = op_begin("lstsq", {&A, &B});
  Lstsq r = lstsq(A.value(), B.value(), rcond, driver);
  if (!rec) return {Var(r.solution), r.residuals, r.rank, r.singular_values};
  Node& n = rec.record(r.solution, &lstsq_vjp, {&A, &B});
  n.saved[0] = A.value();
  n.saved[1] = B.value();
  n.scalar[0] = rcond.value_or(-1.0);
  return {rec.var, r.residuals, r.rank, r.singular_values};
}

// ---- matrix_norm
// ---------------------------------------------------------------------------------
namespace {
// fro: gA = g A / ||A|| (0 where ||A|| = 0, torch's subgradient).
void fro_vjp(TapeImpl& t, Node& n) {
  const Tensor& A = n.saved[0];
  Tensor nrm = n.value, g = n.grad;
  if (static_cast<int64_t>(n.ints[0]) == 0) {  // not keepdim: restore the two reduced axes
    nrm = nrm.unsqueeze(-1).unsqueeze(-1);
    g = g.unsqueeze(-1).unsqueeze(-1);
  }
  const Tensor scale = where(eq(nrm, 0.0), Tensor::zeros({}, A.dtype()), div(g, nrm));
  t.accumulate(n.in[0], mul(A, scale));
}

Var keep_or_squeeze(const Var& r, const Var& A, bool keepdim) {
  if (!keepdim) return r;
  Shape s;
  for (int d = 0; d < A.rank() - 2; ++d) s.push_back(A.shape()[d]);
  s.push_back(1);
  s.push_back(1);
  return reshape(r, s);
}
}  // namespace

Var matrix_norm(const Var& A, std::string_view ord, bool keepdim) {
  if (ord == "nuc") {
    detail::require_defined("matrix_norm", A);
    return keep_or_squeeze(sum(svdvals(A), {-1}), A, keepdim);
  }
  OpTape rec = op_begin("matrix_norm", {&A});
  Tensor r = matrix_norm(A.value(), ord, keepdim);
  if (!rec) return Var(std::move(r));
  Node& n = rec.record(r, &fro_vjp, {&A});
  n.saved[0] = A.value();
  n.ints[0] = keepdim ? 1 : 0;
  return rec.var;
}

Var matrix_norm(const Var& A, double ord, bool keepdim) {
  detail::require_defined("matrix_norm", A);
  // The Tensor function checks the arguments (ord, empty matrices) and gives the result's shape.
  const Shape out = matrix_norm(A.value(), ord, false).shape();
  if (ord == 2 || ord == -2) {
    const Var S = svdvals(A);
    const int64_t k = S.shape()[S.rank() - 1];
    const Var s = slice(S, S.rank() - 1, ord > 0 ? 0 : k - 1, ord > 0 ? 1 : k);
    return keep_or_squeeze(reshape(s, out), A, keepdim);
  }
  // 1 / inf: the largest abs column / row sum; -1 / -inf: the smallest (max of the negated).
  const bool cols = ord == 1 || ord == -1;
  const Var sums = sum(abs(A), {cols ? -2 : -1}, false);
  const Var r = ord > 0 ? max(sums, -1, false) : neg(max(neg(sums), -1, false));
  return keep_or_squeeze(r, A, keepdim);
}

}  // namespace affine::linalg
