// gradcheck (float64) for the differentiable spectral functions of autograd/linalg.hpp: eigh,
// eigvalsh, svd (reduced), svdvals, pinv, lstsq and matrix_norm (every ord), plus the documented
// errors for repeated eigen/singular values. Symmetric-input functions are checked through
// (X + X^T) / 2, as torch's own tests do, since their VJPs return the symmetric gradient. Every
// output is reduced to a random weighted sum, so one backward checks every output's gradient.
#include <gtest/gtest.h>

#include <cmath>
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

using test::check_gradient;

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor N(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(s, g, DType::f64);
}

Var weighted(const Var& v, uint64_t seed) { return sum(mul(v, Var(N(v.shape(), seed)))); }

Var sym(const Var& x) { return mul(add(x, transpose(x, -1, -2)), 0.5); }

TEST(SpectralGrad, Eigh) {
  for (char uplo : {'L', 'U'}) {
    EXPECT_TRUE(check_gradient(
        [uplo](const auto& v) {
          const linalg::VarEigh e = linalg::eigh(sym(v[0]), uplo);
          return add(weighted(e.eigenvalues, 1), weighted(e.eigenvectors, 2));
        },
        {N({4, 4}, 3)}));
  }
  EXPECT_TRUE(check_gradient(
      [](const auto& v) {
        const linalg::VarEigh e = linalg::eigh(sym(v[0]));
        return add(weighted(e.eigenvalues, 4), weighted(e.eigenvectors, 5));
      },
      {N({2, 3, 3}, 6)}));
  EXPECT_TRUE(
      check_gradient([](const auto& v) { return linalg::eigvalsh(sym(v[0])); }, {N({5, 5}, 7)}));
}

TEST(SpectralGrad, Svd) {
  for (const Shape& s : {Shape{5, 3}, Shape{3, 5}, Shape{4, 4}, Shape{2, 4, 3}}) {
    SCOPED_TRACE(to_string(s));
    EXPECT_TRUE(check_gradient(
        [](const auto& v) {
          const linalg::VarSVD r = linalg::svd(v[0], false);
          return add(add(weighted(r.U, 8), weighted(r.S, 9)), weighted(r.Vh, 10));
        },
        {N(s, 11)}));
    EXPECT_TRUE(check_gradient([](const auto& v) { return linalg::svdvals(v[0]); }, {N(s, 12)}));
  }
  // Square A: full_matrices is the same as reduced, and differentiable.
  EXPECT_TRUE(check_gradient([](const auto& v) { return weighted(linalg::svd(v[0], true).U, 13); },
                             {N({3, 3}, 14)}));
}

TEST(SpectralGrad, PinvAndLstsq) {
  for (const Shape& s : {Shape{5, 3}, Shape{3, 5}, Shape{4, 4}}) {
    SCOPED_TRACE(to_string(s));
    EXPECT_TRUE(check_gradient([](const auto& v) { return linalg::pinv(v[0]); }, {N(s, 15)}));
    const int64_t m = s[0];
    EXPECT_TRUE(check_gradient([](const auto& v) { return linalg::lstsq(v[0], v[1]).solution; },
                               {N(s, 16), N({m, 2}, 17)}));
  }
  EXPECT_TRUE(check_gradient([](const auto& v) { return linalg::pinv(sym(v[0]), {}, {}, true); },
                             {N({4, 4}, 18)}));
  // A vector right-hand side, and batch broadcasting between A and B.
  EXPECT_TRUE(check_gradient([](const auto& v) { return linalg::lstsq(v[0], v[1]).solution; },
                             {N({5, 3}, 19), N({5}, 20)}));
  EXPECT_TRUE(
      check_gradient([](const auto& v) { return linalg::lstsq(v[0], v[1], {}, "gels").solution; },
                     {N({2, 1, 5, 3}, 21), N({3, 5, 2}, 22)}));
}

TEST(SpectralGrad, MatrixNormEveryOrd) {
  for (bool keepdim : {false, true}) {
    for (const char* ord : {"fro", "nuc"}) {
      SCOPED_TRACE(ord);
      EXPECT_TRUE(check_gradient(
          [ord, keepdim](const auto& v) { return linalg::matrix_norm(v[0], ord, keepdim); },
          {N({2, 4, 3}, 23)}));
    }
    for (double ord : {2.0, -2.0, 1.0, -1.0, kInf, -kInf}) {
      SCOPED_TRACE(ord);
      EXPECT_TRUE(check_gradient(
          [ord, keepdim](const auto& v) { return linalg::matrix_norm(v[0], ord, keepdim); },
          {N({2, 4, 3}, 24)}));
    }
  }
  // fro at zero: the subgradient 0 (as torch), not NaN.
  Tape tape;
  const Var z = tape.leaf(Tensor::zeros({2, 2}, DType::f64), true);
  linalg::matrix_norm(z).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), std::vector<double>({0, 0, 0, 0}));
}

// Repeated values: the gradient through vectors throws, naming the pair; through values it is
// fine (the documented behaviour, autograd/linalg.hpp).
TEST(SpectralGrad, RepeatedValues) {
  {
    Tape tape;
    const Var a = tape.leaf(Tensor::eye(3, DType::f64), true);
    const linalg::VarEigh e = linalg::eigh(a);
    sum(e.eigenvalues).backward();
    EXPECT_EQ(a.grad().to_vector<double>(), Tensor::eye(3, DType::f64).to_vector<double>());
  }
  {
    Tape tape;
    const Var a = tape.leaf(Tensor::eye(3, DType::f64), true);
    const Var loss = weighted(linalg::eigh(a).eigenvectors, 25);
    EXPECT_EQ(test::error_of([&] { loss.backward(); }),
              "eigh backward: eigenvalues 0 and 1 are equal (1.000000); the gradient through the "
              "vectors is not defined for repeated values");
  }
  {
    Tape tape;
    const Var a = tape.leaf(mul(Tensor::eye(2, DType::f64), 2.0), true);
    const Var loss = weighted(linalg::svd(a, false).U, 26);
    EXPECT_EQ(test::error_of([&] { loss.backward(); }),
              "svd backward: singular values 0 and 1 are equal (2.000000); the gradient through "
              "the vectors is not defined for repeated values");
  }
  {
    Tape tape;
    const Var a = tape.leaf(N({3, 2}, 27), true);
    EXPECT_EQ(test::error_of([&] { linalg::svd(a, true); }),
              "svd: the gradient is implemented for full_matrices = false (or square A), got A "
              "[3, 2]");
  }
}

// torch's values and gradients (tests/data/make_linalg_golden.py): the loss is sum(output * W);
// eigen- and singular vectors enter squared (their signs are a convention).
TEST(SpectralGrad, MatchesTorchValuesAndGradients) {
  const Tensor A = Tensor::from_vector(linalg_golden::kA, {4, 4});
  const Tensor S = Tensor::from_vector(linalg_golden::kS, {4, 4});
  const Tensor M = Tensor::from_vector(linalg_golden::kM, {5, 3});
  const Tensor B5 = Tensor::from_vector(linalg_golden::kB5, {5, 2});
  auto flat = [](const Var& v) { return reshape(v, {-1}); };
  using Fn = std::function<Var(const std::vector<Var>&)>;
  const std::map<std::string, std::pair<Fn, std::vector<Tensor>>> fns = {
      {"eigh",
       {[&](const auto& v) {
          const linalg::VarEigh e = linalg::eigh(v[0]);
          return concat({e.eigenvalues, flat(mul(e.eigenvectors, e.eigenvectors))}, 0);
        },
        {S}}},
      {"eigvalsh", {[](const auto& v) { return linalg::eigvalsh(v[0]); }, {S}}},
      {"svd",
       {[&](const auto& v) {
          const linalg::VarSVD r = linalg::svd(v[0], false);
          return concat({flat(mul(r.U, r.U)), r.S, flat(mul(r.Vh, r.Vh))}, 0);
        },
        {M}}},
      {"svdvals", {[](const auto& v) { return linalg::svdvals(v[0]); }, {M}}},
      {"pinv", {[](const auto& v) { return linalg::pinv(v[0]); }, {M}}},
      {"lstsq_gelsd", {[](const auto& v) { return linalg::lstsq(v[0], v[1]).solution; }, {M, B5}}},
      {"matrix_norm_nuc", {[](const auto& v) { return linalg::matrix_norm(v[0], "nuc"); }, {A}}},
      {"matrix_norm_2", {[](const auto& v) { return linalg::matrix_norm(v[0], 2.0); }, {A}}},
      {"matrix_norm_neg2", {[](const auto& v) { return linalg::matrix_norm(v[0], -2.0); }, {A}}},
      {"matrix_norm_fro", {[](const auto& v) { return linalg::matrix_norm(v[0], "fro"); }, {A}}},
  };
  ASSERT_EQ(fns.size(), linalg_golden::kSpectralCases.size());
  auto expect_close = [](const Tensor& got, const std::vector<double>& want,
                         const std::string& what) {
    const std::vector<double> g = got.contiguous().to_vector<double>();
    ASSERT_EQ(g.size(), want.size()) << what;
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_NEAR(g[i], want[i], 1e-10 * (1 + std::abs(want[i]))) << what << " element " << i;
    }
  };
  for (const linalg_golden::Case& c : linalg_golden::kSpectralCases) {
    const auto& [fn, inputs] = fns.at(c.name);
    Tape tape;
    std::vector<Var> leaves;
    for (const Tensor& t : inputs) leaves.push_back(tape.leaf(t));
    const Var out = fn(leaves);
    expect_close(out.value(), c.output, std::string(c.name) + " output");
    sum(mul(out, Var(Tensor::from_vector(c.weight, out.shape())))).backward();
    for (size_t k = 0; k < leaves.size(); ++k) {
      expect_close(leaves[k].grad(), c.grads[k],
                   std::string(c.name) + " gradient " + std::to_string(k));
    }
  }
}

}  // namespace
}  // namespace affine
