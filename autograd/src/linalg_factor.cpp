// Differentiable LU-family, Cholesky, triangular-solve and QR functions (autograd/linalg.hpp):
// each forward calls the tensor-level affine::linalg function, and its VJP (the formulas torch
// uses, cited beside each) is right below it, built from the same tensor-level solves.
#include <string>
#include <utility>

#include "affine/autograd/linalg.hpp"
#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/bmm.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/ops.hpp"
#include "multi_output.hpp"
#include "tape_impl.hpp"

namespace affine::linalg {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;
using detail::linalg::bmm;
using detail::linalg::mT;

namespace {

// The lower (or upper) triangle of t, diagonal included, with diag_scale on the diagonal
// (0 drops it, 0.5 halves it): the masks of the triangular VJPs.
Tensor triangle(const Tensor& t, bool lower, double diag_scale) {
  const int64_t m = t.size(-2), n = t.size(-1);
  Tensor mask = Tensor::zeros({m, n}, t.dtype());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (i == j)
        mask.set({i, j}, diag_scale);
      else if (lower ? j < i : j > i)
        mask.set({i, j}, 1.0);
  return mul(t, mask);
}

}  // namespace

// ---- solve: X = A^-1 B;  gB = A^-T gX,  gA = -gB X^T
// ---------------------------------------------
namespace {
void solve_vjp(TapeImpl& t, Node& n) {
  const Tensor& A = n.saved[0];
  // A vector right-hand side (X has one dimension fewer than A) is a one-column matrix here.
  const bool vec = n.value.rank() == A.rank() - 1;
  const Tensor X = vec ? n.value.unsqueeze(-1) : n.value;
  const Tensor gB = solve(mT(A), vec ? n.grad.unsqueeze(-1) : n.grad);
  if (t.needs_grad(n.in[0]))
    t.accumulate(n.in[0], detail::reduce_to(neg(bmm(gB, mT(X))), A.shape()));
  if (t.needs_grad(n.in[1]))
    t.accumulate(n.in[1],
                 detail::reduce_to(vec ? gB.squeeze(-1) : gB, t.nodes[n.in[1]].value.shape()));
}
}  // namespace

Var solve(const Var& A, const Var& B) {
  OpTape rec = op_begin("solve", {&A, &B});
  Tensor X = solve(A.value(), B.value());
  if (!rec) return Var(std::move(X));
  Node& n = rec.record(X, &solve_vjp, {&A, &B});
  n.saved[0] = A.value();
  return rec.var;
}

// ---- inv: Y = A^-1;  gA = -Y^T gY Y^T
// -------------------------------------------------------------
namespace {
void inv_vjp(TapeImpl& t, Node& n) {
  const Tensor Yt = mT(n.value);
  t.accumulate(n.in[0], neg(bmm(bmm(Yt, n.grad), Yt)));
}
}  // namespace

Var inv(const Var& A) {
  OpTape rec = op_begin("inv", {&A});
  Tensor Y = inv(A.value());
  if (!rec) return Var(std::move(Y));
  rec.record(Y, &inv_vjp, {&A});
  return rec.var;
}

// ---- det: d = det A;  gA = gd d A^-T (a solve, so a singular A throws as inv does)
// ----------------
namespace {
// g [...] scaled into every matrix of A^-T: (g[..., None, None]) * A^-T.
Tensor scaled_inverse_transpose(const Tensor& A, const Tensor& g) {
  const Tensor Ait =
      solve(mT(A), Tensor::eye(A.size(-1), A.dtype()));  // I broadcasts over A's batch
  return mul(Ait, g.unsqueeze(-1).unsqueeze(-1));
}

void det_vjp(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], scaled_inverse_transpose(n.saved[0], mul(n.grad, n.saved[1])));
}
}  // namespace

Var det(const Var& A) {
  OpTape rec = op_begin("det", {&A});
  Tensor d = det(A.value());
  if (!rec) return Var(std::move(d));
  Node& n = rec.record(d, &det_vjp, {&A});
  n.saved[0] = A.value();
  n.saved[1] = n.value;  // through a saved slot, so an in-place change to det's output is caught
  return rec.var;
}

// ---- slogdet: only logabsdet is differentiable;  gA = gl A^-T
// -------------------------------------
namespace {
void logabsdet_vjp(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], scaled_inverse_transpose(n.saved[0], n.grad));
}
}  // namespace

VarSlogdet slogdet(const Var& A) {
  OpTape rec = op_begin("slogdet", {&A});
  Slogdet s = slogdet(A.value());
  if (!rec) return {Var(std::move(s.sign)), Var(std::move(s.logabsdet))};
  Node& n = rec.record(s.logabsdet, &logabsdet_vjp, {&A});
  n.saved[0] = A.value();
  return {Var(std::move(s.sign)), rec.var};
}

// ---- cholesky: A = L L^T;  gA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower triangle, diagonal
// halved (Murray 2016; torch's cholesky_backward). Symmetric: both triangles get half. -----------
namespace {
void cholesky_vjp(TapeImpl& t, Node& n) {
  const bool upper = n.ints[0] != 0;
  const Tensor L = upper ? mT(n.value) : n.value;
  const Tensor gL = triangle(upper ? mT(n.grad) : n.grad, true, 1.0);
  const Tensor phi = triangle(bmm(mT(L), gL), true, 0.5);
  const Tensor y = solve_triangular(mT(L), phi, true, true);  // L^-T Phi
  const Tensor g = solve_triangular(L, y, false, false);      // (L^-T Phi) L^-1
  t.accumulate(n.in[0], mul(add(g, mT(g)), 0.5));
}
}  // namespace

Var cholesky(const Var& A, bool upper) {
  OpTape rec = op_begin("cholesky", {&A});
  Tensor L = cholesky(A.value(), upper);
  if (!rec) return Var(std::move(L));
  Node& n = rec.record(L, &cholesky_vjp, {&A});
  n.ints[0] = upper ? 1 : 0;
  return rec.var;
}

// ---- solve_triangular. Left, X = A^-1 B: gB = A^-T gX, gA = -gB X^T. Right, X = B A^-1:
// gB = gX A^-T, gA = -X^T gB. gA keeps only the triangle read (strictly, when unitriangular). ----
namespace {
void solve_triangular_vjp(TapeImpl& t, Node& n) {
  const Tensor& A = n.saved[0];
  const Tensor& X = n.value;
  const bool upper = n.ints[0] != 0, left = n.ints[1] != 0, unit = n.ints[2] != 0;
  const Tensor gB = solve_triangular(mT(A), n.grad, !upper, left, unit);
  if (t.needs_grad(n.in[0])) {
    const Tensor full = left ? neg(bmm(gB, mT(X))) : neg(bmm(mT(X), gB));
    t.accumulate(n.in[0], detail::reduce_to(triangle(full, !upper, unit ? 0.0 : 1.0), A.shape()));
  }
  if (t.needs_grad(n.in[1]))
    t.accumulate(n.in[1], detail::reduce_to(gB, t.nodes[n.in[1]].value.shape()));
}
}  // namespace

Var solve_triangular(const Var& A, const Var& B, bool upper, bool left, bool unitriangular) {
  OpTape rec = op_begin("solve_triangular", {&A, &B});
  Tensor X = solve_triangular(A.value(), B.value(), upper, left, unitriangular);
  if (!rec) return Var(std::move(X));
  Node& n = rec.record(X, &solve_triangular_vjp, {&A, &B});
  n.saved[0] = A.value();
  n.ints = {upper ? 1 : 0, left ? 1 : 0, unitriangular ? 1 : 0, 0};
  return rec.var;
}

// ---- qr ("reduced", m >= n). Q and R leave one node as a packed [..., m*n + n*n] tensor that two
// differentiable slices unpack, so one VJP sees both gradients:
//   M = R gR^T - gQ^T Q,  gA = (gQ + Q copyltu(M)) R^-T,  copyltu(M) = tril(M) + tril(M, -1)^T
// (Walter & Lehmann 2018; the m >= n case of torch's linalg_qr_backward). ------------------------
namespace {
void qr_vjp(TapeImpl& t, Node& n) {
  const Tensor& Q = n.saved[0];
  const Tensor& R = n.saved[1];
  const int64_t qn = Q.size(-2) * Q.size(-1);
  const Tensor gQ = detail::unpack(n.grad, 0, Q.shape());
  const Tensor gR = detail::unpack(n.grad, qn, R.shape());
  const Tensor M = sub(bmm(R, mT(gR)), bmm(mT(gQ), Q));
  const Tensor lower = triangle(M, true, 1.0);
  const Tensor copyltu = add(lower, mT(triangle(M, true, 0.0)));
  const Tensor rhs = add(gQ, bmm(Q, copyltu));
  t.accumulate(n.in[0], solve_triangular(mT(R), rhs, false, false));  // X R^T = rhs
}
}  // namespace

VarQR qr(const Var& A, std::string_view mode) {
  OpTape rec = op_begin("qr", {&A});
  QR f = qr(A.value(), mode);
  if (!rec) return {f.Q.defined() ? Var(f.Q) : Var(), Var(f.R)};
  if (mode != "reduced" || A.value().size(-2) < A.value().size(-1))
    throw Error(
        "qr: the gradient is implemented for mode \"reduced\" with m >= n only, got mode \"" +
        std::string(mode) + "\" and A " + to_string(A.shape()));
  Node& n = rec.record(detail::pack({{f.Q, 2}, {f.R, 2}}), &qr_vjp, {&A});
  n.saved[0] = f.Q;
  n.saved[1] = f.R;
  const Var p = rec.var;
  return {detail::unpack(p, 0, f.Q.shape()),
          detail::unpack(p, f.Q.size(-2) * f.Q.size(-1), f.R.shape())};
}

}  // namespace affine::linalg
