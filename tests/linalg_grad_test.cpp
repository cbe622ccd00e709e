// gradcheck (float64) for the differentiable factorization functions of autograd/linalg.hpp:
// solve, inv, det, slogdet, cholesky, solve_triangular, qr (reduced). Inputs are well-conditioned
// random matrices (a shifted diagonal keeps them away from singular), small so the check is fast
// under ASan. Every check also asserts some gradient is nonzero. Symmetric-input functions
// (cholesky) are checked through A = X X^T + n I, as torch's own tests do, since the VJP returns
// the symmetric gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "data/linalg_golden.hpp"
#include "gradcheck_util.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using Fn = std::function<Var(const std::vector<Var>&)>;

::testing::AssertionResult check(const Fn& fn, const std::vector<Tensor>& inputs) {
  return test::check_gradient(fn, inputs);
}

Tensor N(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(s, g, DType::f64);
}

// A random [..., n, n] matrix plus 3 I: comfortably nonsingular.
Tensor well_conditioned(const Shape& s, uint64_t seed) {
  return add(N(s, seed), mul(Tensor::eye(s[s.size() - 1], DType::f64), 3.0));
}

// A weighted sum of every element, so each output element gets a distinct gradient.
Var weighted(const Var& v, uint64_t seed) { return sum(mul(v, Var(N(v.shape(), seed)))); }

TEST(LinalgGrad, Solve) {
  EXPECT_TRUE(check([](const auto& v) { return linalg::solve(v[0], v[1]); },
                    {well_conditioned({4, 4}, 1), N({4, 2}, 2)}));
  // Batched A with B broadcast over the batch; a vector right-hand side.
  EXPECT_TRUE(check([](const auto& v) { return linalg::solve(v[0], v[1]); },
                    {well_conditioned({2, 3, 3}, 3), N({3, 2}, 4)}));
  EXPECT_TRUE(check([](const auto& v) { return linalg::solve(v[0], v[1]); },
                    {well_conditioned({3, 3}, 5), N({3}, 6)}));
}

TEST(LinalgGrad, InvDetSlogdet) {
  EXPECT_TRUE(
      check([](const auto& v) { return linalg::inv(v[0]); }, {well_conditioned({4, 4}, 7)}));
  EXPECT_TRUE(
      check([](const auto& v) { return linalg::inv(v[0]); }, {well_conditioned({2, 3, 3}, 8)}));
  EXPECT_TRUE(
      check([](const auto& v) { return linalg::det(v[0]); }, {well_conditioned({4, 4}, 9)}));
  EXPECT_TRUE(
      check([](const auto& v) { return linalg::det(v[0]); }, {well_conditioned({3, 2, 2}, 10)}));
  // A negative determinant: logabsdet's gradient is still A^-T.
  Tensor neg_det = well_conditioned({3, 3}, 11);
  neg_det.set({0, 0}, -neg_det.get({0, 0}));
  EXPECT_TRUE(check([](const auto& v) { return linalg::slogdet(v[0]).logabsdet; }, {neg_det}));
  {  // sign is a constant (piecewise constant: no gradient), -1 here
    Tape tape;
    const linalg::VarSlogdet r = linalg::slogdet(tape.leaf(neg_det));
    EXPECT_EQ(r.sign.value().item(), -1.0);
    EXPECT_FALSE(r.sign.requires_grad());
    EXPECT_TRUE(r.logabsdet.requires_grad());
  }
  EXPECT_TRUE(check([](const auto& v) { return linalg::slogdet(v[0]).logabsdet; },
                    {well_conditioned({2, 3, 3}, 12)}));
}

TEST(LinalgGrad, Cholesky) {
  for (bool upper : {false, true}) {
    const Fn fn = [upper](const std::vector<Var>& v) {
      const Var a =
          add(matmul(v[0], transpose(v[0], 0, 1)), Var(mul(Tensor::eye(4, DType::f64), 4.0)));
      return linalg::cholesky(a, upper);
    };
    EXPECT_TRUE(check(fn, {N({4, 4}, 13)})) << (upper ? "upper" : "lower");
  }
}

TEST(LinalgGrad, SolveTriangular) {
  for (bool upper : {false, true})
    for (bool left : {true, false})
      for (bool unit : {false, true}) {
        const Fn fn = [=](const std::vector<Var>& v) {
          return linalg::solve_triangular(v[0], v[1], upper, left, unit);
        };
        const Tensor B = left ? N({4, 3}, 15) : N({3, 4}, 15);
        EXPECT_TRUE(check(fn, {well_conditioned({4, 4}, 14), B})) << upper << left << unit;
      }
  // The triangle not read gets no gradient.
  Tape tape;
  const Var A = tape.leaf(well_conditioned({3, 3}, 16));
  weighted(linalg::solve_triangular(A, Var(N({3, 2}, 17)), true), 18).backward();
  EXPECT_EQ(A.grad().get({2, 0}), 0.0);
  EXPECT_NE(A.grad().get({0, 2}), 0.0);
}

TEST(LinalgGrad, QrReduced) {
  EXPECT_TRUE(check([](const auto& v) { return linalg::qr(v[0]).Q; }, {N({5, 3}, 19)}));
  EXPECT_TRUE(check([](const auto& v) { return linalg::qr(v[0]).R; }, {N({5, 3}, 20)}));
  EXPECT_TRUE(check(
      [](const auto& v) {
        const linalg::VarQR f = linalg::qr(v[0]);
        return add(weighted(f.Q, 21), weighted(f.R, 22));
      },
      {N({2, 4, 4}, 23)}));
}

TEST(LinalgGrad, UndefinedGradientsAreErrors) {
  Tape tape;
  const Var A = tape.leaf(N({3, 5}, 24));
  EXPECT_EQ(test::error_of([&] { linalg::qr(A); }),
            "qr: the gradient is implemented for mode \"reduced\" with m >= n only, got mode "
            "\"reduced\" and A [3, 5]");
  const Var S = tape.leaf(Tensor::of({1, 2, 2, 4}, {2, 2}, DType::f64));
  const Var d = linalg::det(S);
  EXPECT_EQ(test::error_of([&] { d.backward(); }), "solve: matrix is singular (U[1,1] = 0)");
}

// ---- torch's values and gradients (tests/data/make_linalg_golden.py)
// ------------------------------
Tensor golden(const std::vector<double>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

void expect_close(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  const std::vector<double> g = got.contiguous().to_vector<double>();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(g[i], want[i], 1e-10 * (1 + std::abs(want[i]))) << what << " element " << i;
}

TEST(LinalgGrad, MatchesTorchValuesAndGradients) {
  const Tensor A = golden(linalg_golden::kA, {4, 4}), B = golden(linalg_golden::kB, {4, 2});
  const Tensor S = golden(linalg_golden::kS, {4, 4}), M = golden(linalg_golden::kM, {5, 3});
  const std::map<std::string, std::pair<Fn, std::vector<Tensor>>> fns = {
      {"solve", {[](const auto& v) { return linalg::solve(v[0], v[1]); }, {A, B}}},
      {"inv", {[](const auto& v) { return linalg::inv(v[0]); }, {A}}},
      {"det", {[](const auto& v) { return linalg::det(v[0]); }, {A}}},
      {"slogdet", {[](const auto& v) { return linalg::slogdet(v[0]).logabsdet; }, {A}}},
      {"cholesky", {[](const auto& v) { return linalg::cholesky(v[0]); }, {S}}},
      {"cholesky_upper", {[](const auto& v) { return linalg::cholesky(v[0], true); }, {S}}},
      {"solve_triangular_upper_left",
       {[](const auto& v) { return linalg::solve_triangular(v[0], v[1], true); }, {A, B}}},
      {"solve_triangular_lower_right",
       {[](const auto& v) {
          return linalg::solve_triangular(v[0], transpose(v[1], 0, 1), false, false);
        },
        {A, B}}},
      {"qr_q", {[](const auto& v) { return linalg::qr(v[0]).Q; }, {M}}},
      {"qr_r", {[](const auto& v) { return linalg::qr(v[0]).R; }, {M}}},
  };
  ASSERT_EQ(fns.size(), linalg_golden::kCases.size());
  for (const linalg_golden::Case& c : linalg_golden::kCases) {
    const auto& [fn, inputs] = fns.at(c.name);
    Tape tape;
    std::vector<Var> leaves;
    for (const Tensor& t : inputs) leaves.push_back(tape.leaf(t));
    const Var out = fn(leaves);
    expect_close(out.value(), c.output, std::string(c.name) + " output");
    sum(mul(out, Var(golden(c.weight, out.shape())))).backward();
    for (size_t k = 0; k < leaves.size(); ++k)
      expect_close(leaves[k].grad(), c.grads[k],
                   std::string(c.name) + " gradient " + std::to_string(k));
  }
  const Tensor x =
      linalg::lstsq(M, golden(linalg_golden::kLstsqB, {5, 1}), std::nullopt, "gels").solution;
  expect_close(x, linalg_golden::kLstsqX, "lstsq gels");
  EXPECT_NEAR(linalg::matrix_norm(A).item(), linalg_golden::kNormFro, 1e-12);
  EXPECT_NEAR(linalg::matrix_norm(A, 1).item(), linalg_golden::kNorm1, 1e-12);
  EXPECT_NEAR(linalg::matrix_norm(A, -1).item(), linalg_golden::kNormNeg1, 1e-12);
  EXPECT_NEAR(linalg::matrix_norm(A, std::numeric_limits<double>::infinity()).item(),
              linalg_golden::kNormInf, 1e-12);
  EXPECT_NEAR(linalg::vector_norm(A, 3).item(), linalg_golden::kVectorNorm3, 1e-12);
}

}  // namespace
}  // namespace affine
