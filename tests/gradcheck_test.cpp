// gradcheck for every differentiable op and loss: random float64 inputs away from kinks,
// broadcasting variants, non-contiguous (transposed, sliced) inputs, values used twice. Every
// check also asserts the gradient is not all zeros (a check comparing 0 with 0 proves nothing),
// and gradcheck itself is shown to fail on a wrong gradient. Float32 gradients are compared with
// the float64 ones.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "affine/affine.hpp"
#include "gradcheck_util.hpp"

namespace affine {
namespace {

using Fn = std::function<Var(const std::vector<Var>&)>;

::testing::AssertionResult check(const Fn& fn, const std::vector<Tensor>& inputs) {
  return test::check_gradient(fn, inputs);
}

Tensor U(const Shape& s, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  return Tensor::uniform(s, lo, hi, g, DType::f64);
}
Tensor N(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(s, g, DType::f64);
}
// Values with |x| in [0.2, 1.5] and random signs: away from the kinks at 0 of abs and relu.
Tensor away_from_zero(const Shape& s, uint64_t seed) {
  Generator g(seed);
  Tensor t = Tensor::uniform(s, 0.2, 1.5, g, DType::f64);
  Tensor sign = Tensor::uniform(s, -1, 1, g, DType::f64);
  return mul(t, sub(mul(gt(sign, 0.0), 2.0), 1.0));
}

// ---- elementwise binary, with broadcasting ---------------------------------------------------

struct BinaryCase {
  Shape a, b;
};
const std::vector<BinaryCase> kBroadcast = {
    {{3, 4}, {3, 4}},    {{3, 4}, {4}},    {{3, 1}, {1, 4}},
    {{2, 3, 4}, {3, 1}}, {{4}, {2, 3, 4}}, {{2, 3}, {}},
};

TEST(Gradcheck, AddSubMulDivBroadcasting) {
  uint64_t seed = 1;
  for (const BinaryCase& c : kBroadcast) {
    SCOPED_TRACE(to_string(c.a) + " with " + to_string(c.b));
    const Tensor a = N(c.a, seed++);
    const Tensor b = N(c.b, seed++);
    const Tensor bpos = U(c.b, 0.5, 2.0, seed++);
    EXPECT_TRUE(check([](const auto& v) { return add(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(check([](const auto& v) { return sub(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(check([](const auto& v) { return mul(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(check([](const auto& v) { return div(v[0], v[1]); }, {a, bpos}));
    EXPECT_TRUE(check([](const auto& v) { return v[1] / v[0] - v[0] * v[1]; }, {bpos, a}));
  }
}

TEST(Gradcheck, ScalarVariants) {
  const Tensor a = U({2, 3}, 0.5, 2.0, 7);
  EXPECT_TRUE(check([](const auto& v) { return add(v[0], 1.5); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return sub(v[0], 1.5); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return sub(1.5, v[0]); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return mul(v[0], -2.5); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return div(v[0], 4.0); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return div(3.0, v[0]); }, {a}));
  EXPECT_TRUE(check([](const auto& v) { return 2.0 * v[0] + 1.0 - 3.0 / v[0] - (-v[0]); }, {a}));
}

// ---- unary --------------------------------------------------------------------------------------

TEST(Gradcheck, Unary) {
  const Tensor x = N({3, 4}, 11);
  const Tensor pos = U({3, 4}, 0.3, 3.0, 12);
  const Tensor nz = away_from_zero({3, 4}, 13);
  EXPECT_TRUE(check([](const auto& v) { return neg(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return exp(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return log(v[0]); }, {pos}));
  EXPECT_TRUE(check([](const auto& v) { return log1p(v[0]); }, {U({3, 4}, -0.5, 2.0, 14)}));
  EXPECT_TRUE(check([](const auto& v) { return pow(v[0], 2.5); }, {pos}));
  EXPECT_TRUE(check([](const auto& v) { return pow(v[0], 3.0); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return pow(v[0], 2.0); }, {x}));  // the x * x branch
  EXPECT_TRUE(check([](const auto& v) { return square(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return pow(v[0], -1.5); }, {pos}));
  EXPECT_TRUE(check([](const auto& v) { return sqrt(v[0]); }, {pos}));
  EXPECT_TRUE(check([](const auto& v) { return abs(v[0]); }, {nz}));
  EXPECT_TRUE(check([](const auto& v) { return tanh(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return sigmoid(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return relu(v[0]); }, {nz}));
  EXPECT_TRUE(check([](const auto& v) { return gelu(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return silu(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return leaky_relu(v[0], 0.1); }, {nz}));
  // softplus: normal x puts beta x on both sides of the threshold (beta 2, threshold 1).
  EXPECT_TRUE(check([](const auto& v) { return softplus(v[0], 2, 1); }, {x}));
  // clamp: the values straddle the bounds but stay 0.1 away from them.
  const Tensor c = Tensor::of({-1.2, -0.8, -0.3, 0.2, 0.4, 0.75, 1.1, 2.0}, {2, 4}, DType::f64);
  EXPECT_TRUE(check([](const auto& v) { return clamp(v[0], -0.5, 0.6); }, {c}));
}

TEST(Gradcheck, ReluAndAbsAndClampPassNoGradientWhereFlat) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({-2, -0.5, 0.5, 3}, {4}, DType::f64));
  sum(relu(x) + abs(x) + clamp(x, -1, 1)).backward();
  // relu' = [0 0 1 1], abs' = [-1 -1 1 1], clamp' = [0 1 1 0]
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1, 0, 3, 2}));
}

// ---- reductions ---------------------------------------------------------------------------------

TEST(Gradcheck, SumMean) {
  const Tensor x = N({2, 3, 4}, 21);
  EXPECT_TRUE(check([](const auto& v) { return sum(v[0]); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return mean(v[0]); }, {x}));
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "keepdim" : "no keepdim");
    EXPECT_TRUE(check([keep](const auto& v) { return sum(v[0], {1}, keep); }, {x}));
    EXPECT_TRUE(check([keep](const auto& v) { return sum(v[0], {0, 2}, keep); }, {x}));
    EXPECT_TRUE(check([keep](const auto& v) { return sum(v[0], {-1}, keep); }, {x}));
    EXPECT_TRUE(check([keep](const auto& v) { return mean(v[0], {2, 0}, keep); }, {x}));
    EXPECT_TRUE(check([keep](const auto& v) { return mean(v[0], {1}, keep); }, {x}));
    // A weighted use so each output element's gradient differs.
    const Tensor w = N(keep ? Shape{2, 1, 4} : Shape{2, 4}, 22);
    EXPECT_TRUE(
        check([keep](const auto& v) { return sum(mul(sum(v[0], {1}, keep), v[1])); }, {x, w}));
  }
}

TEST(Gradcheck, MaxAlongAxis) {
  // Distinct values (a permutation scaled), so the maximum is unique and away from ties.
  Generator g(5);
  std::vector<double> vals(24);
  for (int i = 0; i < 24; ++i) vals[static_cast<size_t>(i)] = 0.37 * i;
  for (int i = 23; i > 0; --i) std::swap(vals[static_cast<size_t>(i)], vals[g.below(i + 1)]);
  const Tensor x = Tensor::from_vector(vals, {2, 3, 4});
  for (int64_t axis : {0, 1, 2, -1}) {
    for (bool keep : {false, true}) {
      SCOPED_TRACE(axis);
      EXPECT_TRUE(check([axis, keep](const auto& v) { return max(v[0], axis, keep); }, {x}));
    }
  }
}

// ---- shape ops ----------------------------------------------------------------------------------

TEST(Gradcheck, ShapeOps) {
  const Tensor x = N({2, 3, 4}, 31);
  const Tensor w = N({4, 6}, 32);
  EXPECT_TRUE(check([](const auto& v) { return reshape(v[0], {6, 4}); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return mul(reshape(v[0], {4, -1}), v[1]); }, {x, w}));
  EXPECT_TRUE(check([](const auto& v) { return transpose(v[0], 0, 2); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return permute(v[0], {2, 0, 1}); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return slice(v[0], 2, 1, 4, 2); }, {x}));
  EXPECT_TRUE(check([](const auto& v) { return slice(v[0], 1, -2, 3); }, {x}));
  // The transpose's gradient flows into a later op that reads it strided.
  EXPECT_TRUE(check([](const auto& v) { return matmul(transpose(v[0], 0, 1), v[1]); },
                    {N({4, 3}, 33), N({4, 2}, 34)}));
}

TEST(Gradcheck, Concat) {
  const Tensor a = N({2, 3}, 41);
  const Tensor b = N({2, 1}, 42);
  const Tensor c = N({2, 2}, 43);
  const Tensor d = N({2, 4}, 44);
  EXPECT_TRUE(check(
      [](const auto& v) {
        return concat({v[0], v[1], v[2], v[3]}, 1);
      },
      {a, b, c, d}));
  EXPECT_TRUE(check([](const auto& v) { return concat({v[0], v[1]}, 0); }, {a, N({1, 3}, 45)}));
  // A constant among the inputs, and a value used twice.
  EXPECT_TRUE(check([c](const auto& v) { return concat({v[0], Var(c), v[0]}, -1); }, {a}));
}

// ---- linear algebra -----------------------------------------------------------------------------

TEST(Gradcheck, Matmul) {
  EXPECT_TRUE(
      check([](const auto& v) { return matmul(v[0], v[1]); }, {N({3, 4}, 51), N({4, 2}, 52)}));
  // Batched, and a 2-D operand shared by every batch (its gradient sums over the batch).
  EXPECT_TRUE(check([](const auto& v) { return matmul(v[0], v[1]); },
                    {N({2, 3, 4}, 53), N({2, 4, 2}, 54)}));
  EXPECT_TRUE(
      check([](const auto& v) { return matmul(v[0], v[1]); }, {N({2, 3, 4}, 55), N({4, 2}, 56)}));
  EXPECT_TRUE(
      check([](const auto& v) { return matmul(v[0], v[1]); }, {N({3, 4}, 57), N({2, 4, 2}, 58)}));
  EXPECT_TRUE(check([](const auto& v) { return matmul(v[0], v[1]); },
                    {N({1, 3, 4}, 59), N({2, 4, 2}, 60)}));
  // Non-contiguous inputs: a transposed view and a strided slice.
  const Tensor at = N({4, 3}, 61).t();
  const Tensor bs = N({4, 5}, 62).slice(1, 0, 5, 2);
  ASSERT_FALSE(at.is_contiguous());
  ASSERT_FALSE(bs.is_contiguous());
  EXPECT_TRUE(check([](const auto& v) { return matmul(v[0], v[1]); }, {at, bs}));
  // A value used twice: x x^T.
  EXPECT_TRUE(
      check([](const auto& v) { return matmul(v[0], transpose(v[0], 0, 1)); }, {N({3, 2}, 63)}));
}

TEST(Gradcheck, Linear) {
  const Tensor x = N({5, 3}, 71);
  const Tensor w = N({4, 3}, 72);
  const Tensor b = N({4}, 73);
  EXPECT_TRUE(check([](const auto& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}));
  EXPECT_TRUE(check([](const auto& v) { return linear(v[0], v[1]); }, {x, w}));
  // Leading batch dimensions, and non-contiguous x and W.
  EXPECT_TRUE(
      check([](const auto& v) { return linear(v[0], v[1], v[2]); }, {N({2, 3, 3}, 74), w, b}));
  EXPECT_TRUE(check([](const auto& v) { return linear(v[0], v[1], v[2]); },
                    {N({3, 5}, 75).t(), N({3, 4}, 76).t(), b}));
  // With an activation, one op: every input, and W, b alone (x a constant: the fused dW/db path).
  for (const LinearActivation act :
       {LinearActivation::tanh, LinearActivation::sigmoid, LinearActivation::relu}) {
    EXPECT_TRUE(check([act](const auto& v) { return linear(v[0], v[1], v[2], act); }, {x, w, b}));
    EXPECT_TRUE(check([act](const auto& v) { return linear(v[0], v[1], Var(), act); }, {x, w}));
    EXPECT_TRUE(check([&, act](const auto& v) { return linear(Var(x), v[0], v[1], act); }, {w, b}));
    EXPECT_TRUE(check([act](const auto& v) { return linear(v[0], v[1], v[2], act); },
                      {N({2, 3, 3}, 77), w, b}));
  }
  // Two layers with a tanh between, one op: every input; W, b alone; no biases; batched x.
  const Tensor w2 = N({2, 4}, 78), b2 = N({2}, 79);
  EXPECT_TRUE(check([](const auto& v) { return linear_tanh_linear(v[0], v[1], v[2], v[3], v[4]); },
                    {x, w, b, w2, b2}));
  EXPECT_TRUE(
      check([&](const auto& v) { return linear_tanh_linear(Var(x), v[0], v[1], v[2], v[3]); },
            {w, b, w2, b2}));
  EXPECT_TRUE(
      check([](const auto& v) { return linear_tanh_linear(v[0], v[1], Var(), v[2], Var()); },
            {x, w, w2}));
  EXPECT_TRUE(check([](const auto& v) { return linear_tanh_linear(v[0], v[1], v[2], v[3], v[4]); },
                    {N({2, 3, 3}, 80), w, b, w2, b2}));
  // ... and with an activation after the second layer.
  for (const LinearActivation act : {LinearActivation::tanh, LinearActivation::sigmoid}) {
    EXPECT_TRUE(
        check([&](const auto& v) { return linear_tanh_linear(v[0], v[1], v[2], v[3], v[4], act); },
              {x, w, b, w2, b2}));
  }
  // linear equals matmul with the transposed weight plus the bias.
  Tape t;
  const Var xv = t.leaf(x), wv = t.leaf(w), bv = t.leaf(b);
  EXPECT_TRUE(allclose(linear(xv, wv, bv).value(), add(matmul(x, w.t()), b), 1e-12, 1e-12));
}

// ---- softmax ------------------------------------------------------------------------------------

TEST(Gradcheck, SoftmaxLogSoftmax) {
  const Tensor x = N({3, 4}, 81);
  const Tensor w = N({3, 4}, 82);  // weights so the output's gradient is not uniform
  for (int64_t axis : {0, 1, -1}) {
    SCOPED_TRACE(axis);
    EXPECT_TRUE(check([axis](const auto& v) { return softmax(v[0], axis); }, {x}));
    EXPECT_TRUE(check([axis](const auto& v) { return log_softmax(v[0], axis); }, {x}));
    EXPECT_TRUE(
        check([axis](const auto& v) { return sum(mul(softmax(v[0], axis), v[1])); }, {x, w}));
  }
  EXPECT_TRUE(check([](const auto& v) { return log_softmax(v[0], 1); }, {N({2, 3, 2}, 83)}));
  EXPECT_TRUE(check([](const auto& v) { return softmax(v[0], 0); }, {N({4, 3}, 84).t()}));
}

TEST(Gradcheck, SoftmaxIsStable) {
  const Tensor big = Tensor::of({1000, 1001, 999, -1000}, {1, 4}, DType::f64);
  const Tensor s = softmax(Var(big)).value();
  const Tensor l = log_softmax(Var(big)).value();
  for (double v : s.to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
  for (double v : l.to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(l.get({0, 1}), -std::log(1 + std::exp(-1.0) + std::exp(-2.0)), 1e-12);
}

// ---- losses -------------------------------------------------------------------------------------

const Reduction kReductions[] = {Reduction::mean, Reduction::sum, Reduction::none};

TEST(Gradcheck, BinaryCrossEntropy) {
  const Tensor p = U({4, 3}, 0.05, 0.95, 91);
  const Tensor y = U({4, 3}, 0.0, 1.0, 92);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(check([r](const auto& v) { return binary_cross_entropy(v[0], v[1], r); }, {p, y}));
    // Through a sigmoid, as the seed network uses it.
    EXPECT_TRUE(check([r](const auto& v) { return binary_cross_entropy(sigmoid(v[0]), v[1], r); },
                      {N({4, 3}, 93), y}));
  }
}

TEST(Gradcheck, BinaryCrossEntropyWithLogits) {
  const Tensor x = mul(N({4, 3}, 94), 3.0);
  const Tensor y = U({4, 3}, 0.0, 1.0, 95);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(check(
        [r](const auto& v) { return binary_cross_entropy_with_logits(v[0], v[1], r); }, {x, y}));
  }
}

TEST(Gradcheck, MseLoss) {
  const Tensor p = N({3, 5}, 96);
  const Tensor y = N({3, 5}, 97);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(check([r](const auto& v) { return mse_loss(v[0], v[1], r); }, {p, y}));
  }
  EXPECT_TRUE(check([](const auto& v) { return mse_loss(v[0], v[1]); }, {N({5, 3}, 98).t(), y}));
}

TEST(Gradcheck, CrossEntropy) {
  const Tensor x = N({4, 3}, 99);
  const Tensor t = Tensor::from_vector(std::vector<int64_t>{2, 0, 1, 2}, {4});
  for (Reduction r : kReductions) {
    EXPECT_TRUE(check([r, t](const auto& v) { return cross_entropy(v[0], t, r); }, {x}));
  }
  EXPECT_TRUE(check([t](const auto& v) { return cross_entropy(v[0], t); }, {N({3, 4}, 100).t()}));
}

TEST(Gradcheck, LossValuesMatchDefinitions) {
  // BCE clamps log at -100: p = 0 with y = 1 costs exactly 100, not infinity.
  const Tensor p = Tensor::of({0.0, 1.0, 0.25}, {3}, DType::f64);
  const Tensor y = Tensor::of({1.0, 1.0, 0.0}, {3}, DType::f64);
  const Tensor l = binary_cross_entropy(Var(p), Var(y), Reduction::none).value();
  EXPECT_EQ(l.get({0}), 100.0);
  EXPECT_EQ(l.get({1}), 0.0);
  EXPECT_NEAR(l.get({2}), -std::log(0.75), 1e-15);
  // Logits form is stable at +-1000 and agrees with BCE on sigmoid in the normal range.
  const Tensor x = Tensor::of({-1000, 1000, 0.3}, {3}, DType::f64);
  const Tensor lx = binary_cross_entropy_with_logits(Var(x), Var(y), Reduction::none).value();
  EXPECT_NEAR(lx.get({0}), 1000.0, 1e-9);
  EXPECT_NEAR(lx.get({1}), 0.0, 1e-12);
  EXPECT_NEAR(lx.get({2}), -std::log(1 - 1 / (1 + std::exp(-0.3))), 1e-12);
  // Cross-entropy: -log_softmax at the target, averaged.
  const Tensor logits = Tensor::of({1, 2, 3, 0, 0, 0}, {2, 3}, DType::f64);
  const Tensor tg = Tensor::from_vector(std::vector<int64_t>{2, 1}, {2});
  const double l0 = -(3 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  const double l1 = std::log(3.0);
  EXPECT_NEAR(cross_entropy(Var(logits), tg).value().item(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(cross_entropy(Var(logits), tg, Reduction::sum).value().item(), l0 + l1, 1e-12);
  const Tensor per = cross_entropy(Var(logits), tg, Reduction::none).value();
  EXPECT_NEAR(per.get({0}), l0, 1e-12);
  EXPECT_NEAR(per.get({1}), l1, 1e-12);
  EXPECT_NEAR(mse_loss(Var(p), Var(y), Reduction::sum).value().item(), 1 + 0 + 0.0625, 1e-15);
}

// ---- composites ---------------------------------------------------------------------------------

TEST(Gradcheck, ValueUsedTwiceAndDeepComposite) {
  EXPECT_TRUE(check([](const auto& v) { return v[0] * v[0] + v[0]; }, {N({3}, 101)}));
  EXPECT_TRUE(check([](const auto& v) { return add(v[0], v[0]); }, {N({3}, 102)}));
  // A small MLP with every parameter an input.
  EXPECT_TRUE(check(
      [](const auto& v) {
        const Var h = tanh(linear(v[0], v[1], v[2]));
        const Var p = sigmoid(linear(h, v[3], v[4]));
        return binary_cross_entropy(p, v[5]);
      },
      {N({4, 2}, 103), N({3, 2}, 104), N({3}, 105), N({1, 3}, 106), N({1}, 107),
       U({4, 1}, 0, 1, 108)}));
}

// ---- gradcheck itself ---------------------------------------------------------------------------

TEST(Gradcheck, FailsOnAWrongGradient) {
  // x * detach(x) has value x^2 but analytic gradient x: half the true 2x.
  const GradcheckResult r =
      gradcheck([](const auto& v) { return mul(v[0], v[0].detach()); }, {U({3}, 1.0, 2.0, 111)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("analytic"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("numeric"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("input 0"), std::string::npos) << r.message;
  // A straight-through estimator: value round(x)-ish constant, gradient 1, true derivative 0.
  const GradcheckResult st = gradcheck(
      [](const auto& v) {
        return add(v[0], sub(Var(Tensor::zeros(v[0].shape(), DType::f64)), v[0].detach()));
      },
      {U({2}, 1.0, 2.0, 112)});
  EXPECT_FALSE(st.ok) << st.message;
  EXPECT_GT(st.max_abs_grad, 0);
}

TEST(Gradcheck, ReportsTheWorstElement) {
  // Gradient wrong only for element 2 (x[2] enters through a detached path).
  const GradcheckResult r = gradcheck(
      [](const auto& v) {
        const Var a = slice(v[0], 0, 0, 2);
        const Var b = slice(v[0], 0, 2, 3);
        return concat({mul(a, a), mul(b, b.detach())}, 0);
      },
      {Tensor::of({1, 2, 3}, {3}, DType::f64)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("element [2]"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("analytic 3"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("numeric 6"), std::string::npos) << r.message;
}

// ---- float32 against float64 --------------------------------------------------------------------

// Gradients of every input of fn, computed in dtype.
std::vector<Tensor> grads(const Fn& fn, const std::vector<Tensor>& inputs, DType dtype) {
  Tape tape;
  std::vector<Var> vs;
  for (const Tensor& t : inputs) vs.push_back(tape.leaf(t.to(dtype)));
  fn(vs).backward();
  std::vector<Tensor> out;
  for (const Var& v : vs) out.push_back(v.grad().to(DType::f64));
  return out;
}

void expect_f32_matches_f64(const Fn& fn, const std::vector<Tensor>& inputs) {
  const std::vector<Tensor> g64 = grads(fn, inputs, DType::f64);
  const std::vector<Tensor> g32 = grads(fn, inputs, DType::f32);
  for (size_t i = 0; i < g64.size(); ++i) {
    const double scale = max(abs(g64[i])).item();
    ASSERT_GT(scale, 0) << "input " << i;
    const double err = max(abs(sub(g32[i], g64[i]))).item();
    EXPECT_LE(err, 1e-4 * scale) << "input " << i << ": max |g32 - g64| " << err
                                 << " against max |g64| " << scale;
  }
}

TEST(Gradcheck, Float32MatchesFloat64) {
  const Tensor x = N({6, 3}, 121);
  const Tensor y = U({6, 3}, 0.1, 0.9, 122);
  const Tensor pos = U({6, 3}, 0.5, 2.0, 123);
  const Tensor nz = away_from_zero({6, 3}, 124);
  expect_f32_matches_f64([](const auto& v) { return sum(mul(exp(v[0]), v[1]) / v[2]); },
                         {x, y, pos});
  expect_f32_matches_f64(
      [](const auto& v) { return sum(log(v[0]) + log1p(v[0]) + sqrt(v[0]) + pow(v[0], 1.7)); },
      {pos});
  expect_f32_matches_f64(
      [](const auto& v) { return sum(tanh(v[0]) * sigmoid(v[0]) + relu(v[0]) + abs(v[0])); }, {nz});
  expect_f32_matches_f64(
      [](const auto& v) { return sum(mul(softmax(v[0], 1), v[1])) + sum(log_softmax(v[0], 0)); },
      {x, y});
  expect_f32_matches_f64(
      [](const auto& v) { return mean(max(v[0], 1)) + sum(mean(v[0], {0}, true) * v[1]); }, {x, y});
  expect_f32_matches_f64(
      [](const auto& v) {
        const Var h = tanh(linear(v[0], v[1], v[2]));
        return binary_cross_entropy(sigmoid(sum(h, {1}, true)), slice(v[3], 1, 0, 1));
      },
      {x, N({4, 3}, 125), N({4}, 126), y});
  expect_f32_matches_f64(
      [](const auto& v) {
        return mse_loss(matmul(v[0], transpose(v[1], 0, 1)), v[2]) +
               binary_cross_entropy_with_logits(v[0], v[3]);
      },
      {x, N({2, 3}, 127), N({6, 2}, 128), y});
  const Tensor tg = Tensor::from_vector(std::vector<int64_t>{0, 2, 1, 1, 0, 2}, {6});
  expect_f32_matches_f64([tg](const auto& v) { return cross_entropy(v[0], tg); }, {x});
}

}  // namespace
}  // namespace affine
