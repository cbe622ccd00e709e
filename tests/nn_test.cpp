// nn: Module bookkeeping, layers, Sequential and loss modules against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"
#include "test_util.hpp"

namespace {

using namespace affine;      // NOLINT(google-build-using-namespace)
using namespace affine::nn;  // NOLINT(google-build-using-namespace)

Tensor T64(std::initializer_list<double> v, const Shape& s) { return Tensor::of(v, s, DType::f64); }

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  const auto got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
}

using affine::test::error_of;

Sequential seed_network() {
  return Sequential{Linear(2, 100), Tanh(), Linear(100, 2), Tanh(), Linear(2, 1), Sigmoid()};
}

// A Linear with the given float64 weights.
Linear linear64(int64_t in, int64_t out, const Tensor& w, const Tensor& b) {
  Generator gen(0);
  Linear lin(in, out, gen, b.defined(), DType::f64);
  lin.weight.value.copy_(w);
  if (b.defined()) lin.bias.value.copy_(b);
  return lin;
}

// ---- Module bookkeeping ------------------------------------------------------------------------

TEST(Module, SeedNetworkParameterCountAndNames) {
  Sequential net = seed_network();
  EXPECT_EQ(net.size(), 6);
  EXPECT_EQ(net.parameter_count(), 2 * 100 + 100 + 100 * 2 + 2 + 2 * 1 + 1);
  EXPECT_EQ(net.parameter_count(), 505);
  const auto named = net.named_parameters();
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"0.weight", {100, 2}}, {"0.bias", {100}},    {"2.weight", {2, 100}},
      {"2.bias", {2}},        {"4.weight", {1, 2}}, {"4.bias", {1}}};
  ASSERT_EQ(named.size(), expected.size());
  for (size_t i = 0; i < named.size(); ++i) {
    EXPECT_EQ(named[i].first, expected[i].first);
    EXPECT_EQ(named[i].second->value.shape(), expected[i].second) << named[i].first;
    EXPECT_EQ(named[i].second->value.dtype(), DType::f32);
  }
  const auto params = net.parameters();
  ASSERT_EQ(params.size(), 6U);
  EXPECT_EQ(params[0], &net.at<Linear>(0).weight);
  EXPECT_EQ(params[5], &net.at<Linear>(4).bias);
  ASSERT_EQ(net.children().size(), 6U);
  EXPECT_EQ(net.children()[3].first, "3");
}

TEST(Module, NestedSequentialNamesAndMove) {
  Sequential inner{Linear(3, 4), ReLU()};
  Sequential net;
  net.push_back(std::make_unique<Linear>(2, 3));
  net.push_back(std::move(inner));
  net.emplace_back<Linear>(4, 1, /*bias=*/false);
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "2.weight"}));
  EXPECT_EQ(net.parameter_count(), 6 + 3 + 12 + 4 + 4);

  // A moved Sequential keeps its layers (they live on the heap) and lists the same parameters.
  Parameter* first = net.parameters()[0];
  Sequential moved(std::move(net));
  EXPECT_EQ(moved.parameters()[0], first);
  EXPECT_EQ(moved.parameters().size(), 5U);
  EXPECT_EQ(moved.at<Sequential>(1).size(), 2);
}

TEST(Module, TrainEvalPropagate) {
  Sequential net{Linear(2, 3), Sequential{Tanh(), Linear(3, 1)}};
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net[0].is_training());
  EXPECT_FALSE(net[1].is_training());
  EXPECT_FALSE(net.at<Sequential>(1)[1].is_training());
  net.train();
  EXPECT_TRUE(net.at<Sequential>(1)[0].is_training());
  // A moved layer keeps its mode.
  Tanh t;
  t.eval();
  Sequential s{std::move(t)};
  EXPECT_FALSE(s[0].is_training());
}

TEST(Module, ZeroGrad) {
  Linear lin = linear64(2, 1, T64({1, 2}, {1, 2}), T64({0.5}, {1}));
  Tape tape;
  Var y = lin(tape.leaf(T64({1, 1, 2, 3}, {2, 2}), false));
  sum(y).backward();
  expect_values(lin.weight.grad, {3, 4});
  expect_values(lin.bias.grad, {2});
  lin.zero_grad();
  expect_values(lin.weight.grad, {0, 0});
  expect_values(lin.bias.grad, {0});
}

// ---- Linear ------------------------------------------------------------------------------------

TEST(Linear, ForwardAndGradientByHand) {
  // W [3, 2], b [3], x [2, 2]: y = x W^T + b.
  Linear lin = linear64(2, 3, T64({1, 2, 3, 4, 5, 6}, {3, 2}), T64({0.5, -1, 2}, {3}));
  Tape tape;
  Var x = tape.leaf(T64({1, -1, 2, 0.5}, {2, 2}));
  Var y = lin(x);
  ASSERT_EQ(y.shape(), Shape({2, 3}));
  // Row 0: (1 - 2 + 0.5, 3 - 4 - 1, 5 - 6 + 2); row 1: (2 + 1 + 0.5, 6 + 2 - 1, 10 + 3 + 2).
  expect_values(y.value(), {-0.5, -2, 1, 3.5, 7, 15});
  // Seed g [2, 3]: dW = g^T x, db = column sums of g, dx = g W.
  y.backward(T64({1, 0, 2, -1, 1, 0}, {2, 3}));
  // dW row o = sum_n g[n, o] x[n]: o=0: 1*(1,-1) + -1*(2,0.5); o=1: (2,0.5); o=2: 2*(1,-1).
  expect_values(lin.weight.grad, {-1, -1.5, 2, 0.5, 2, -2});
  expect_values(lin.bias.grad, {0, 1, 2});
  // dx row 0 = 1*(1,2) + 2*(5,6) = (11, 14); row 1 = -1*(1,2) + 1*(3,4) = (2, 2).
  expect_values(x.grad(), {11, 14, 2, 2});
}

TEST(Linear, NoBias) {
  Linear lin = linear64(2, 2, T64({1, 0, 0, 2}, {2, 2}), Tensor());
  EXPECT_FALSE(lin.has_bias());
  EXPECT_EQ(lin.parameters().size(), 1U);
  EXPECT_EQ(lin.named_parameters()[0].first, "weight");
  EXPECT_EQ(lin.name(), "Linear(in=2, out=2, bias=false)");
  expect_values(lin(T64({3, 4}, {1, 2})).value(), {3, 8});
}

TEST(Linear, WrongWidthError) {
  Linear lin(4, 2);
  EXPECT_EQ(error_of([&] {
              lin(Tensor::zeros({8, 3}));
            }),
            "Linear(in=4, out=2): expected input [*, 4], got [8, 3]");
  EXPECT_EQ(error_of([&] { lin(Tensor::scalar(1.0)); }),
            "Linear(in=4, out=2): expected input [*, 4], got []");
  EXPECT_THROW(Linear(0, 2), Error);
}

TEST(Linear, LeadingDimensions) {
  Linear lin = linear64(2, 1, T64({1, -1}, {1, 2}), T64({10}, {1}));
  Var y = lin(T64({1, 2, 3, 5, 7, 11}, {3, 1, 2}));
  EXPECT_EQ(y.shape(), Shape({3, 1, 1}));
  expect_values(y.value(), {9, 8, 6});
  Var v = lin(T64({4, 1}, {2}));
  EXPECT_EQ(v.shape(), Shape({1}));
  expect_values(v.value(), {13});
}

TEST(Linear, DefaultInitIsPyTorchsAndSeeded) {
  manual_seed(3);
  Linear a(50, 40), b(50, 40);
  const double bound = 1.0 / std::sqrt(50.0);
  // Layers built without a Generator draw from the default one: equal shapes, different weights.
  EXPECT_FALSE(allclose(a.weight.value, b.weight.value));
  // Reproducible from the seed: the same seed rebuilds the same two layers.
  manual_seed(3);
  Linear a2(50, 40), b2(50, 40);
  EXPECT_TRUE(allclose(a.weight.value, a2.weight.value, 0, 0));
  EXPECT_TRUE(allclose(b.bias.value, b2.bias.value, 0, 0));
  // They are the draws of Generator(3), the first layer's weight first.
  Generator g3(3);
  Linear explicit_a(50, 40, g3);
  EXPECT_TRUE(allclose(a.weight.value, explicit_a.weight.value, 0, 0));
  for (const Tensor& t : {a.weight.value, a.bias.value}) {
    for (double v : t.to_vector<double>()) {
      EXPECT_LE(std::abs(v), bound);
    }
  }
  EXPECT_GT(max(abs(a.weight.value)).item(), 0.95 * bound);  // the whole range is used
  Generator g1(7), g2(7);
  Linear c(3, 2, g1), d(3, 2, g2);
  EXPECT_TRUE(allclose(c.weight.value, d.weight.value, 0, 0));
  EXPECT_TRUE(allclose(c.bias.value, d.bias.value, 0, 0));
  Linear e(3, 2, g1);  // g1 moved on: another draw
  EXPECT_FALSE(allclose(c.weight.value, e.weight.value));
}

TEST(Linear, InferenceRecordsNothing) {
  Sequential net = seed_network();
  Tape tape;
  Var x = tape.leaf(Tensor::zeros({5, 2}), false);
  {
    NoGradGuard guard(tape);
    const size_t before = tape.size();
    Var y = net(x);
    EXPECT_EQ(tape.size(), before);
    EXPECT_EQ(y.shape(), Shape({5, 1}));
  }
  Var c = net(Tensor::zeros({5, 2}));  // a constant input needs no tape at all
  EXPECT_EQ(c.tape(), nullptr);
}

// ---- activations -------------------------------------------------------------------------------

// Forward values and the VJP for seed g, checked elementwise against formulas written out here.
TEST(Activations, ElementwiseByHand) {
  const std::vector<double> xs = {-2, -0.5, 0.25, 3};
  const std::vector<double> gs = {1, -2, 0.5, 3};
  struct Case {
    std::unique_ptr<Module> m;
    double (*f)(double);
    double (*df)(double);
  };
  std::vector<Case> cases;
  cases.push_back({std::make_unique<Tanh>(), [](double v) { return std::tanh(v); },
                   [](double v) { return 1 - std::tanh(v) * std::tanh(v); }});
  cases.push_back({std::make_unique<Sigmoid>(), [](double v) { return 1 / (1 + std::exp(-v)); },
                   [](double v) {
                     const double s = 1 / (1 + std::exp(-v));
                     return s * (1 - s);
                   }});
  cases.push_back({std::make_unique<ReLU>(), [](double v) { return v > 0 ? v : 0.0; },
                   [](double v) { return v > 0 ? 1.0 : 0.0; }});
  for (auto& c : cases) {
    SCOPED_TRACE(c.m->name());
    Tape tape;
    Var x = tape.leaf(Tensor::from_vector(xs, {2, 2}));
    Var y = (*c.m)(x);
    y.backward(Tensor::from_vector(gs, {2, 2}));
    std::vector<double> fy, dx;
    for (size_t i = 0; i < xs.size(); ++i) {
      fy.push_back(c.f(xs[i]));
      dx.push_back(gs[i] * c.df(xs[i]));
    }
    expect_values(y.value(), fy);
    expect_values(x.grad(), dx);
  }
  EXPECT_EQ(Tanh().name(), "Tanh()");
  EXPECT_EQ(Sigmoid().name(), "Sigmoid()");
  EXPECT_EQ(ReLU().name(), "ReLU()");
}

// A module over a parametric op is one line too (what LeakyReLU or Softplus take).
AFFINE_NN_ACTIVATION_1(PowModule, pow, exponent, 2.0)

TEST(Activations, ParametricActivationTemplate) {
  PowModule square;
  EXPECT_EQ(square.name(), "PowModule(exponent=2)");
  PowModule cube(3.0);
  EXPECT_EQ(cube.param(), 3.0);
  const Tensor x = Tensor::of({-2, 0.5, 3}, {3}, DType::f64);
  EXPECT_TRUE(allclose(square(x).value(), Tensor::of({4, 0.25, 9}, {3}, DType::f64)));
  EXPECT_TRUE(allclose(cube(x).value(), Tensor::of({-8, 0.125, 27}, {3}, DType::f64)));
}

TEST(Activations, SoftmaxAndLogSoftmaxByHand) {
  // x = [[0, ln 2, ln 5], [1, 1, 1]]: softmax rows [1/8, 2/8, 5/8] and [1/3, 1/3, 1/3].
  const double l2 = std::log(2.0), l5 = std::log(5.0);
  const Tensor xv = T64({0, l2, l5, 1, 1, 1}, {2, 3});
  const Tensor g = T64({1, 0, 0, 0, 3, 0}, {2, 3});
  {
    Softmax sm(1);
    EXPECT_EQ(sm.name(), "Softmax(axis=1)");
    Tape tape;
    Var x = tape.leaf(xv);
    Var y = sm(x);
    expect_values(y.value(), {0.125, 0.25, 0.625, 1.0 / 3, 1.0 / 3, 1.0 / 3});
    y.backward(g);
    // dx = s * (g - <g, s>): row 0 <g,s> = 1/8; row 1 <g,s> = 1.
    expect_values(x.grad(), {0.125 * (1 - 0.125), 0.25 * -0.125, 0.625 * -0.125, -1.0 / 3, 2.0 / 3,
                             -1.0 / 3});
  }
  {
    LogSoftmax lsm;  // axis -1
    Tape tape;
    Var x = tape.leaf(xv);
    Var y = lsm(x);
    const double l3 = std::log(3.0);
    expect_values(y.value(), {std::log(0.125), std::log(0.25), std::log(0.625), -l3, -l3, -l3});
    y.backward(g);
    // dx = g - s * sum(g).
    expect_values(x.grad(), {1 - 0.125, -0.25, -0.625, -1, 3 - 1, -1});
  }
  {
    Softmax sm0(0);  // along columns
    Var y = sm0(T64({0, 1, l2, 1}, {2, 2}));
    expect_values(y.value(), {1.0 / 3, 0.5, 2.0 / 3, 0.5});
  }
}

// ---- Sequential --------------------------------------------------------------------------------

TEST(Sequential, ForwardToAndForwardAll) {
  Generator gen(3);
  Sequential net{Linear(2, 4, gen, true, DType::f64), Tanh(),
                 Linear(4, 2, gen, true, DType::f64), Tanh(),
                 Linear(2, 1, gen, true, DType::f64), Sigmoid()};
  const Tensor x = Tensor::randn({7, 2}, gen, DType::f64);
  auto& l0 = net.at<Linear>(0);
  auto& l2 = net.at<Linear>(2);
  const Tensor h1 = tanh(matmul(x, l0.weight.value.t()) + l0.bias.value);
  const Tensor h3 = tanh(matmul(h1, l2.weight.value.t()) + l2.bias.value);
  EXPECT_TRUE(allclose(net.forward_to(x, 1).value(), h1, 1e-12, 1e-12));
  EXPECT_TRUE(allclose(net.forward_to(x, 3).value(), h3, 1e-12, 1e-12));  // the embedding
  EXPECT_TRUE(allclose(net.forward_to(x, -1).value(), net(x).value(), 0, 0));
  const auto all = net.forward_all(x);
  ASSERT_EQ(all.size(), 6U);
  EXPECT_TRUE(allclose(all[3].value(), h3, 1e-12, 1e-12));
  EXPECT_TRUE(allclose(all[5].value(), net(x).value(), 0, 0));
  EXPECT_EQ(error_of([&] { net.forward_to(x, 6); }),
            "Sequential::forward_to: index 6 is out of range for 6 layers");
  EXPECT_THROW(net[-7], Error);
  EXPECT_EQ(net[-1].name(), "Sigmoid()");
  EXPECT_THROW(net.at<Linear>(1), Error);
  EXPECT_EQ(Sequential{}.forward(x).value().shape(), x.shape());
}

TEST(Sequential, GradientsFlowThroughEveryLayer) {
  // y = sigmoid(w2 . tanh(W1 x + b1) + b2) for one sample, the chain rule written out.
  Sequential net{linear64(2, 2, T64({0.5, -1, 2, 0.25}, {2, 2}), T64({0.1, -0.2}, {2})), Tanh(),
                 linear64(2, 1, T64({1.5, -0.5}, {1, 2}), T64({0.3}, {1})), Sigmoid()};
  Tape tape;
  const double x0 = 0.4, x1 = -0.6;
  Var y = net(tape.leaf(T64({x0, x1}, {1, 2}), false));
  const double a0 = 0.5 * x0 - 1 * x1 + 0.1, a1 = 2 * x0 + 0.25 * x1 - 0.2;
  const double h0 = std::tanh(a0), h1 = std::tanh(a1);
  const double z = 1.5 * h0 - 0.5 * h1 + 0.3;
  const double s = 1 / (1 + std::exp(-z));
  expect_values(y.value(), {s});
  y.backward();
  const double dz = s * (1 - s);
  expect_values(net.at<Linear>(2).weight.grad, {dz * h0, dz * h1});
  expect_values(net.at<Linear>(2).bias.grad, {dz});
  const double da0 = dz * 1.5 * (1 - h0 * h0), da1 = dz * -0.5 * (1 - h1 * h1);
  expect_values(net.at<Linear>(0).weight.grad, {da0 * x0, da0 * x1, da1 * x0, da1 * x1});
  expect_values(net.at<Linear>(0).bias.grad, {da0, da1});
}

TEST(Sequential, Name) {
  Sequential net{Linear(2, 3), Sequential{Tanh()}};
  EXPECT_EQ(net.name(),
            "Sequential(\n  (0): Linear(in=2, out=3, bias=true)\n  (1): Sequential(\n    (0): "
            "Tanh()\n  )\n)");
  EXPECT_THROW(net.push_back(std::unique_ptr<Module>()), Error);
}

// ---- losses ------------------------------------------------------------------------------------

TEST(Losses, BCELoss) {
  BCELoss loss;
  EXPECT_EQ(loss.name(), "BCELoss(reduction=mean)");
  Tape tape;
  Var p = tape.leaf(T64({0.2, 0.9}, {2, 1}));
  Var l = loss(p, T64({0, 1}, {2, 1}));
  expect_values(l.value(), {-(std::log(0.8) + std::log(0.9)) / 2});
  l.backward();
  // d/dp = (p - y) / (p (1 - p)) / n.
  expect_values(p.grad(), {0.2 / (0.2 * 0.8) / 2, -0.1 / (0.9 * 0.1) / 2}, 1e-10);
  Var s = BCELoss(Reduction::sum)(T64({0.2, 0.9}, {2}), T64({0, 1}, {2}));
  expect_values(s.value(), {-(std::log(0.8) + std::log(0.9))});
  Var n = BCELoss(Reduction::none)(T64({0.2, 0.9}, {2}), T64({0, 1}, {2}));
  expect_values(n.value(), {-std::log(0.8), -std::log(0.9)});
}

TEST(Losses, BCEWithLogitsLoss) {
  Tape tape;
  Var x = tape.leaf(T64({0.5, -1}, {2}));
  Var l = BCEWithLogitsLoss()(x, T64({1, 0}, {2}));
  // y = 1: log(1 + e^-x); y = 0: log(1 + e^x).
  expect_values(l.value(), {(std::log1p(std::exp(-0.5)) + std::log1p(std::exp(-1.0))) / 2});
  l.backward();
  const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  expect_values(x.grad(), {(sig(0.5) - 1) / 2, sig(-1) / 2});
  Var big = BCEWithLogitsLoss(Reduction::sum)(T64({800, -800}, {2}), T64({0, 1}, {2}));
  expect_values(big.value(), {1600});
}

TEST(Losses, MSELoss) {
  Tape tape;
  Var p = tape.leaf(T64({1, 2}, {2}));
  Var l = MSELoss()(p, T64({0, 4}, {2}));
  expect_values(l.value(), {2.5});
  l.backward();
  expect_values(p.grad(), {1, -2});
  expect_values(MSELoss(Reduction::sum)(T64({1, 2}, {2}), T64({0, 4}, {2})).value(), {5});
  EXPECT_EQ(MSELoss(Reduction::none).name(), "MSELoss(reduction=none)");
}

TEST(Losses, CrossEntropyLoss) {
  Tape tape;
  Var z = tape.leaf(T64({1, 2, 3, 0, 0, 0}, {2, 3}));
  Var l = CrossEntropyLoss()(z, Tensor::from_vector(std::vector<int64_t>{2, 0}));
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  expect_values(l.value(), {((lse - 3) + std::log(3.0)) / 2});
  l.backward();
  // d/dz = (softmax(z) - onehot(target)) / n.
  const double e = std::exp(lse);
  expect_values(z.grad(), {std::exp(1.0) / e / 2, std::exp(2.0) / e / 2,
                           (std::exp(3.0) / e - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6});
  EXPECT_THROW(CrossEntropyLoss()(z, Tensor::from_vector(std::vector<int64_t>{3, 0})), Error);
}

// ---- end to end
// ----------------------------------------------------------------------------------

// The seed experiment in miniature: the 2-100-2-1 network separates noisy moons.
TEST(EndToEnd, SeedNetworkLearnsMoons) {
  auto [x, y] = data::make_moons(200, 0.1, 0);
  Generator gen(1);
  Sequential net{Linear(2, 100, gen), Tanh(),   Linear(100, 2, gen), Tanh(),
                 Linear(2, 1, gen),   Sigmoid()};
  // lr 0.1: with lr 0.5 and momentum 0.9 the float32 and float64 runs of this seed part ways after
  // a few epochs and the float32 one stalls at 86%: a chaotic regime, not a fair test.
  optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  data::DataLoader loader(x, y, {.batch_size = 20, .seed = 2});
  BCELoss bce;
  Tape tape;
  double first_loss = 0;
  for (int epoch = 0; epoch < 60; ++epoch) {
    for (auto [xb, yb] : loader) {
      tape.clear();
      opt.zero_grad();
      Var loss = bce(net(tape.leaf(xb, false)), yb);
      if (epoch == 0 && first_loss == 0) first_loss = loss.value().item();
      loss.backward();
      opt.step();
    }
  }
  net.eval();
  const Tensor p = net(x).value();
  const double accuracy = mean(eq(gt(p, 0.5), y)).item();
  EXPECT_GT(accuracy, 0.95);
  EXPECT_LT(bce(p, y).value().item(), 0.5 * first_loss);
  EXPECT_EQ(net.forward_to(x, 3).value().shape(), Shape({200, 2}));  // the plotted embedding
}

}  // namespace
