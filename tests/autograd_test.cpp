// The tape: recording, backward, accumulation, parameters, no-grad, errors, memory behaviour.
// (Per-op gradients are checked numerically in gradcheck_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/tensor/internal/access.hpp"

namespace affine {
namespace {

// Runs stmt, expects an affine::Error whose message contains every one of the given pieces.
#define EXPECT_ERROR_WITH(stmt, ...)                                       \
  do {                                                                     \
    try {                                                                  \
      stmt;                                                                \
      ADD_FAILURE() << "no affine::Error from " #stmt;                     \
    } catch (const Error& e) {                                             \
      for (const char* piece : {__VA_ARGS__}) {                            \
        EXPECT_NE(std::string(e.what()).find(piece), std::string::npos)    \
            << "message \"" << e.what() << "\" lacks \"" << piece << "\""; \
      }                                                                    \
    }                                                                      \
  } while (0)

std::vector<double> vec(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

bool all_zero(const Tensor& t) {
  for (double v : vec(t)) {
    if (v != 0) return false;
  }
  return true;
}

// ---- the hand-worked two-layer example ----------------------------------------------------------

TEST(Autograd, TwoLayerNetworkMatchesHandComputedGradients) {
  // x [2, 2] -> linear(W1 [2, 2], b1) -> relu -> linear(W2 [1, 2], b2) -> mse against t (mean).
  Parameter W1(Tensor::of({0.5, -1, 1, 0.5}, {2, 2}));
  Parameter b1(Tensor::of({0, 1}, {2}));
  Parameter W2(Tensor::of({2, -1}, {1, 2}));
  Parameter b2(Tensor::of({0.5}, {1}));
  const Tensor x = Tensor::of({1, 2, -1, 1}, {2, 2});
  const Tensor t = Tensor::of({1, 1}, {2, 1});

  Tape tape;
  const Var z1 = linear(x, tape.param(W1), tape.param(b1));
  // row 0: [0.5*1 - 1*2 + 0, 1*1 + 0.5*2 + 1] = [-1.5, 3]
  // row 1: [0.5*-1 - 1*1 + 0, 1*-1 + 0.5*1 + 1] = [-1.5, 0.5]
  EXPECT_EQ(vec(z1.value()), (std::vector<double>{-1.5, 3, -1.5, 0.5}));
  const Var h = relu(z1);  // [[0, 3], [0, 0.5]]
  const Var y = linear(h, tape.param(W2), tape.param(b2));
  // y = [0*2 - 3 + 0.5, 0*2 - 0.5 + 0.5] = [-2.5, 0]
  EXPECT_EQ(vec(y.value()), (std::vector<double>{-2.5, 0}));
  const Var loss = mse_loss(y, t);
  // ((-2.5 - 1)^2 + (0 - 1)^2) / 2 = (12.25 + 1) / 2 = 6.625
  EXPECT_EQ(loss.value().item(), 6.625);
  loss.backward();
  // dL/dy = 2 (y - t) / 2 = [-3.5, -1]
  // dW2 = sum_i dy_i h_i = -3.5 [0, 3] - 1 [0, 0.5] = [0, -11];   db2 = -4.5
  EXPECT_EQ(vec(W2.grad), (std::vector<double>{0, -11}));
  EXPECT_EQ(vec(b2.grad), (std::vector<double>{-4.5}));
  // dh_i = dy_i W2: [-7, 3.5], [-2, 1]; times relu'(z1) = [0, 1] in both rows: dz1 = [0, 3.5], [0,
  // 1] dW1 = sum_i dz1_i^T x_i: row 0 = 0; row 1 = 3.5 [1, 2] + 1 [-1, 1] = [2.5, 8] db1 = [0, 3.5
  // + 1] = [0, 4.5]
  EXPECT_EQ(vec(W1.grad), (std::vector<double>{0, 0, 2.5, 8}));
  EXPECT_EQ(vec(b1.grad), (std::vector<double>{0, 4.5}));
}

// ---- accumulation, parameters, two tapes --------------------------------------------------------

TEST(Autograd, ValueUsedTwiceAccumulates) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({3}, {1}, DType::f64));
  const Var y = x * x + x;  // dy/dx = 2x + 1 = 7
  sum(y).backward();
  EXPECT_EQ(x.grad().item(), 7);
  EXPECT_FALSE(all_zero(x.grad()));
}

TEST(Autograd, BackwardOnTwoTapesDoublesParameterGradientsExactly) {
  Generator gen(3);
  Parameter w(Tensor::randn({3, 2}, gen));
  Parameter b(Tensor::randn({3}, gen));
  const Tensor x = Tensor::randn({4, 2}, gen);
  auto step = [&](Tape& tape) { sum(tanh(linear(x, tape.param(w), tape.param(b)))).backward(); };
  Tape t1, t2;
  step(t1);
  const Tensor gw1 = w.grad.clone();
  const Tensor gb1 = b.grad.clone();
  ASSERT_FALSE(all_zero(gw1));
  ASSERT_FALSE(all_zero(gb1));
  step(t2);
  EXPECT_EQ(vec(w.grad), vec(mul(gw1, 2.0)));
  EXPECT_EQ(vec(b.grad), vec(mul(gb1, 2.0)));
  // zero_grad, then one more step gives the single-step gradient again.
  w.zero_grad();
  b.zero_grad();
  EXPECT_TRUE(all_zero(w.grad));
  EXPECT_TRUE(all_zero(b.grad));
  t1.clear();
  step(t1);
  EXPECT_EQ(vec(w.grad), vec(gw1));
  EXPECT_EQ(vec(b.grad), vec(gb1));
}

TEST(Autograd, SameParameterTwiceOnOneTape) {
  Parameter p(Tensor::of({2}, {1}, DType::f64));
  Tape tape;
  const Var a = tape.param(p);
  const Var b = tape.param(p);
  (a * b).backward();  // d(p^2)/dp = 4
  EXPECT_EQ(p.grad.item(), 4);
}

TEST(Autograd, DetachStopsGradients) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({2}, {1}, DType::f64));
  const Var d = x.detach();
  EXPECT_EQ(d.tape(), nullptr);
  EXPECT_FALSE(d.requires_grad());
  (x * d).backward();  // only the first factor carries gradient: d = 2
  EXPECT_EQ(x.grad().item(), 2);
}

TEST(Autograd, LeafWithoutGradientAndUnusedLeaf) {
  Tape tape;
  const Var c = tape.leaf(Tensor::of({5}, {1}), false);
  const Var x = tape.leaf(Tensor::of({2}, {1}));
  const Var unused = tape.leaf(Tensor::of({1, 1}, {2}));
  EXPECT_FALSE(c.requires_grad());
  EXPECT_TRUE(x.requires_grad());
  (c * x).backward();
  EXPECT_EQ(x.grad().item(), 5);
  EXPECT_TRUE(all_zero(unused.grad()));  // no gradient reached it: zeros of its shape
  EXPECT_EQ(unused.grad().shape(), (Shape{2}));
  EXPECT_ERROR_WITH(c.grad(), "does not require grad");
}

TEST(Autograd, IntermediateGradientsOnRequest) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({1, 2}, {2}, DType::f64));
  const Var h = x * 3.0;
  const Var k = x * 2.0;
  h.retain_grad();
  sum(h * h + k).backward();
  EXPECT_EQ(vec(h.grad()), (std::vector<double>{6, 12}));   // 2h
  EXPECT_EQ(vec(x.grad()), (std::vector<double>{20, 38}));  // 18x + 2
  EXPECT_ERROR_WITH(k.grad(), "Var::grad", "retain_grad");
}

TEST(Autograd, SeededBackwardFromANonScalar) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({1, 2, 3}, {3}, DType::f64));
  const Var y = x * x;
  y.backward(Tensor::of({1, 0, -1}, {3}, DType::f64));
  EXPECT_EQ(vec(x.grad()), (std::vector<double>{2, 0, -6}));
}

TEST(Autograd, ConstantsRecordNothing) {
  Tape tape;
  const Var a(Tensor::of({1, 2}, {2}));
  const Var b = tanh(a * 2.0 + a);
  EXPECT_EQ(b.tape(), nullptr);
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_FALSE(b.requires_grad());
  // A constant mixed with a tape value records on that tape.
  const Var x = tape.leaf(Tensor::of({1, 1}, {2}));
  const Var c = x + a;
  EXPECT_EQ(c.tape(), &tape);
  EXPECT_EQ(tape.size(), 2u);
}

// ---- no grad ------------------------------------------------------------------------------------

TEST(Autograd, NoGradGuardRecordsNothing) {
  Generator gen(1);
  Parameter w(Tensor::randn({4, 2}, gen));
  Parameter b(Tensor::randn({4}, gen));
  Tape tape;
  {
    NoGradGuard guard(tape);
    EXPECT_FALSE(tape.recording());
    const Var x = tape.leaf(Tensor::randn({3, 2}, gen));
    const Var y = sigmoid(linear(x, tape.param(w), tape.param(b)));
    EXPECT_EQ(tape.size(), 0u);
    EXPECT_EQ(y.tape(), nullptr);
    EXPECT_EQ(y.shape(), (Shape{3, 4}));
    {
      NoGradGuard nested(tape);
      EXPECT_FALSE(tape.recording());
    }
    EXPECT_FALSE(tape.recording());  // still inside the outer guard
  }
  EXPECT_TRUE(tape.recording());
  EXPECT_EQ(tape.size(), 0u);
  // Values recorded before the guard do not record new nodes inside it either.
  const Var x = tape.leaf(Tensor::randn({3, 2}, gen));
  const size_t before = tape.size();
  {
    NoGradGuard guard(tape);
    const Var y = tanh(x * 2.0);
    EXPECT_EQ(y.tape(), nullptr);
  }
  EXPECT_EQ(tape.size(), before);
}

// ---- errors -------------------------------------------------------------------------------------

TEST(Autograd, ErrorNonScalarBackwardWithoutSeed) {
  Tape tape;
  const Var x = tape.leaf(Tensor::ones({2, 3}));
  EXPECT_ERROR_WITH((x * 2.0).backward(), "backward", "[2, 3]", "seed");
  EXPECT_ERROR_WITH(tape.backward(x * 2.0, Tensor::ones({3})), "backward", "seed shape [3]",
                    "[2, 3]");
}

TEST(Autograd, ErrorSecondBackward) {
  Tape tape;
  const Var x = tape.leaf(Tensor::ones({2}));
  const Var y = sum(x * x);
  y.backward();
  EXPECT_ERROR_WITH(
      y.backward(),
      "backward: the graph was already backpropagated; clear() the tape and record again");
  // Recording more on the same graph does not make it backpropagatable again.
  const Var z = sum(x * 3.0);
  EXPECT_ERROR_WITH(z.backward(), "already backpropagated");
  tape.clear();
  const Var x2 = tape.leaf(Tensor::ones({2}));
  sum(x2 * 3.0).backward();  // fine after clear()
  EXPECT_EQ(vec(x2.grad()), (std::vector<double>{3, 3}));
}

TEST(Autograd, ErrorStaleVar) {
  Tape tape;
  const Var x = tape.leaf(Tensor::ones({2}));
  const Var y = x * 2.0;
  tape.clear();
  EXPECT_ERROR_WITH(y.value(), "Var: handle from a cleared tape");
  EXPECT_ERROR_WITH(x.grad(), "Var: handle from a cleared tape");
  EXPECT_ERROR_WITH(y * 2.0, "mul", "Var: handle from a cleared tape");
  EXPECT_ERROR_WITH(tape.backward(sum(y)), "Var: handle from a cleared tape");
  EXPECT_ERROR_WITH(linear(y, Tensor::ones({1, 2})), "linear", "cleared tape");
}

TEST(Autograd, ErrorMixedTapes) {
  Tape t1, t2;
  const Var a = t1.leaf(Tensor::ones({2}));
  const Var b = t2.leaf(Tensor::ones({2}));
  EXPECT_ERROR_WITH(a + b, "add", "different tapes");
  EXPECT_ERROR_WITH(concat({a, b}, 0), "concat", "different tapes");
  EXPECT_ERROR_WITH(t2.backward(sum(a)), "backward", "another tape");
}

TEST(Autograd, ErrorShapeMismatchNamesOpAndShapes) {
  Tape tape;
  const Var a = tape.leaf(Tensor::ones({3, 4}));
  const Var b = tape.leaf(Tensor::ones({2, 4}));
  EXPECT_ERROR_WITH(a + b, "add", "[3, 4]", "[2, 4]");
  EXPECT_ERROR_WITH(a * b, "mul", "[3, 4]", "[2, 4]");
  EXPECT_ERROR_WITH(matmul(a, b), "matmul", "[3, 4]", "[2, 4]");
  EXPECT_ERROR_WITH(linear(a, tape.leaf(Tensor::ones({5, 3}))), "linear", "[3, 4]", "[5, 3]");
  EXPECT_ERROR_WITH(linear(a, tape.leaf(Tensor::ones({5, 4})), tape.leaf(Tensor::ones({4}))),
                    "linear", "bias [4]", "[5, 4]");
  EXPECT_ERROR_WITH(mse_loss(a, b), "mse_loss", "[3, 4]", "[2, 4]");
  EXPECT_ERROR_WITH(binary_cross_entropy(sigmoid(a), b), "binary_cross_entropy", "[3, 4]",
                    "[2, 4]");
  EXPECT_ERROR_WITH(binary_cross_entropy_with_logits(a, b), "binary_cross_entropy_with_logits",
                    "[3, 4]", "[2, 4]");
  EXPECT_ERROR_WITH(cross_entropy(a, Tensor::from_vector(std::vector<int64_t>{0, 1}, {2})),
                    "cross_entropy", "[3, 4]", "[2]");
  EXPECT_ERROR_WITH(cross_entropy(a, Tensor::from_vector(std::vector<int64_t>{0, 1, 4}, {3})),
                    "cross_entropy", "target 4", "4 classes");
  EXPECT_ERROR_WITH(binary_cross_entropy(a * 2.0, a), "binary_cross_entropy", "[0, 1]");
  EXPECT_ERROR_WITH(concat({a, tape.leaf(Tensor::ones({3, 2}))}, 0), "concat");
  EXPECT_ERROR_WITH(sum(a, {2}), "sum");
  EXPECT_ERROR_WITH(softmax(a, 3), "softmax");
  // Nothing failed half-way into the tape: only the leaves are there (5 of them) plus the
  // sigmoid and the "a * 2.0" recorded before their consumers threw.
  EXPECT_LE(tape.size(), 9u);
}

TEST(Autograd, ErrorMisc) {
  EXPECT_ERROR_WITH(Var(Tensor::ones({1})).backward(), "backward", "constant");
  EXPECT_ERROR_WITH(Var(Tensor::ones({1})).grad(), "Var::grad", "constant");
  Tape tape;
  const Var x = tape.leaf(Tensor::ones({1}));
  EXPECT_ERROR_WITH(x.grad(), "Var::grad", "backward() has not run");
  const Var c = tape.leaf(Tensor::ones({1}), false);
  EXPECT_ERROR_WITH(c.backward(), "backward", "does not require grad");
  // An op on it alone needs no gradient, so it records nothing: a constant.
  EXPECT_ERROR_WITH((c * 2.0).backward(), "backward", "constant");
}

// ---- scale and memory ---------------------------------------------------------------------------

TEST(Autograd, HundredThousandOpChainHasNoRecursion) {
  Tape tape;
  const Var x = tape.leaf(Tensor::of({1}, {1}, DType::f64));
  Var y = x;
  const int n = 100000;
  for (int i = 0; i < n / 2; ++i) {
    y = y * 1.00001;
    y = y + 0.5;
  }
  EXPECT_EQ(tape.size(), static_cast<size_t>(n + 1));
  sum(y).backward();
  EXPECT_NEAR(x.grad().item(), std::pow(1.00001, n / 2), 1e-9);
}

// The seed-like MLP: 2 -> 8 -> 1 with tanh and sigmoid, BCE. Returns the loss.
struct TinyMlp {
  Parameter w1, b1, w2, b2;
  explicit TinyMlp(Generator& gen)
      : w1(Tensor::uniform({8, 2}, -0.7, 0.7, gen)),
        b1(Tensor::uniform({8}, -0.7, 0.7, gen)),
        w2(Tensor::uniform({1, 8}, -0.35, 0.35, gen)),
        b2(Tensor::uniform({1}, -0.35, 0.35, gen)) {}
  Var loss(Tape& tape, const Tensor& x, const Tensor& y) {
    const Var h = tanh(linear(tape.leaf(x, false), tape.param(w1), tape.param(b1)));
    const Var p = sigmoid(linear(h, tape.param(w2), tape.param(b2)));
    return binary_cross_entropy(p, y);
  }
  void sgd(double lr) {
    for (Parameter* p : {&w1, &b1, &w2, &b2}) {
      p->value.copy_(sub(p->value, mul(p->grad, lr)));
      p->zero_grad();
    }
  }
};

// XOR-like data: label 1 when x0 * x1 > 0.
void make_data(Generator& gen, int n, Tensor& x, Tensor& y) {
  x = Tensor::uniform({n, 2}, -1, 1, gen);
  y = gt(mul(x.slice(1, 0, 1), x.slice(1, 1, 2)), 0.0);
}

TEST(Autograd, TapeCapacityStopsGrowingAfterTheFirstStep) {
  Generator gen(7);
  TinyMlp net(gen);
  Tensor x, y;
  make_data(gen, 16, x, y);
  Tape tape;
  size_t cap_after_first = 0;
  for (int step = 0; step < 200; ++step) {
    tape.clear();
    net.loss(tape, x, y).backward();
    net.sgd(0.5);
    if (step == 0) cap_after_first = tape.capacity();
    ASSERT_EQ(tape.capacity(), cap_after_first) << "step " << step;
  }
  EXPECT_GT(cap_after_first, 0u);
}

TEST(Autograd, ClearReleasesTheWholeGraph) {
  Generator gen(5);
  TinyMlp net(gen);
  Tensor x, y;
  make_data(gen, 4, x, y);
  const long base_w = TensorAccess::storage(net.w1.value).use_count();
  const long base_x = TensorAccess::storage(x).use_count();
  Tape tape;
  {
    const Var loss = net.loss(tape, x, y);
    loss.backward();
    EXPECT_GT(TensorAccess::storage(net.w1.value).use_count(), base_w);  // the param leaf
  }
  tape.clear();
  // Nothing of the step's graph holds the parameter or the input any more.
  EXPECT_EQ(TensorAccess::storage(net.w1.value).use_count(), base_w);
  EXPECT_EQ(TensorAccess::storage(x).use_count(), base_x);
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_GT(tape.capacity(), 0u);  // storage kept for the next step
}

// A long training loop: meant to run under AddressSanitizer/LeakSanitizer (build-asan), where any
// leaked graph shows up; sized to take a few seconds there. Also checks that it learns.
TEST(Autograd, TenThousandStepTrainingLoopLearnsWithoutGrowth) {
  Generator gen(11);
  TinyMlp net(gen);
  Tensor x, y;
  make_data(gen, 8, x, y);
  Tape tape;
  double first = 0, last = 0;
  size_t cap = 0;
  for (int step = 0; step < 10000; ++step) {
    tape.clear();
    const Var loss = net.loss(tape, x, y);
    loss.backward();
    net.sgd(0.5);
    if (step == 0) {
      first = loss.value().item();
      cap = tape.capacity();
    }
    last = loss.value().item();
  }
  EXPECT_EQ(tape.capacity(), cap);
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
  // Inference with the trained weights on constants records nothing anywhere.
  const Var p =
      sigmoid(linear(tanh(linear(x, net.w1.value, net.b1.value)), net.w2.value, net.b2.value));
  EXPECT_EQ(p.tape(), nullptr);
}

TEST(Autograd, Float64AndFloat32BothWork) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tape tape;
    const Var x = tape.leaf(Tensor::of({0.5, -0.25}, {2}, dt));
    sum(exp(x) * sigmoid(x)).backward();
    EXPECT_EQ(x.grad().dtype(), dt);
    const double s = 1 / (1 + std::exp(-0.5));
    EXPECT_NEAR(x.grad().get({0}), std::exp(0.5) * s + std::exp(0.5) * s * (1 - s), 1e-6);
  }
}

// float32 binary cross-entropy (its logs from the vectorised log, a block of 256 at a time) against
// the same formula in float64 on the same inputs: 700 elements (two blocks and a tail), p over
// (0, 1) with the ends 0 and 1 (log clamped at -100) and targets 0, 1 and 0.3. The two logs' terms
// have one sign, so a few float32 roundings bound the relative error.
TEST(Autograd, BinaryCrossEntropyFloat32MatchesFloat64) {
  const int64_t n = 700;
  std::vector<float> p(n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = static_cast<float>(std::pow(0.97, static_cast<double>(i % 350)));
    if (i >= 350) p[i] = 1 - p[i];
    y[i] = i % 3 == 0 ? 0.0f : (i % 3 == 1 ? 1.0f : 0.3f);
  }
  p[5] = 0;
  p[600] = 1;
  Tape tape;
  const Var l = binary_cross_entropy(tape.leaf(Tensor::from_vector(p, {n})),
                                     Var(Tensor::from_vector(y, {n})), Reduction::none);
  const Tensor v = l.value();
  for (int64_t i = 0; i < n; ++i) {
    const double lp = std::max(std::log(static_cast<double>(p[i])), -100.0);
    // 1 - p rounded in float32 as the formula does (as PyTorch's): only the logs are compared.
    const double lq = std::max(std::log(static_cast<double>(1.0f - p[i])), -100.0);
    const double want = -(y[i] * lp + (1.0 - y[i]) * lq);
    EXPECT_NEAR(v.get({i}), want, 1e-6 * std::abs(want) + 1e-30)
        << "p = " << p[i] << ", y = " << y[i];
  }
  p[37] = std::nanf("");
  EXPECT_ERROR_WITH(binary_cross_entropy(tape.leaf(Tensor::from_vector(p, {n})),
                                         Var(Tensor::from_vector(y, {n}))),
                    "binary_cross_entropy", "flat index 37");
}

// The [0, 1] check counts good values in blocks of 2^20: a bad value in a later block, or the
// last element, is still found and named.
TEST(Autograd, BinaryCrossEntropyFindsABadValuePastTheFirstBlock) {
  const int64_t n = (int64_t{1} << 20) + 5;
  for (const int64_t bad : {int64_t{1} << 20, n - 1}) {
    std::vector<float> p(static_cast<size_t>(n), 0.5f), y(static_cast<size_t>(n), 1.0f);
    p[static_cast<size_t>(bad)] = 1.5f;
    Tape tape;
    const std::string where = "found 1.500000 at flat index " + std::to_string(bad);
    EXPECT_ERROR_WITH(binary_cross_entropy(tape.leaf(Tensor::from_vector(p, {n})),
                                           Var(Tensor::from_vector(y, {n}))),
                      "binary_cross_entropy", where.c_str());
  }
}

// A VJP whose incoming gradient is one value broadcast over the input (a mean loss's) gives the
// bits of the same gradient handed over as a full tensor of that value: the fused backward loop
// reads broadcast operands from a buffer of their value in spans of 256, so lengths around and
// across a span (and [n, 1] columns, which coalesce into one run) are checked, in both dtypes,
// through a binary (mul), a loss (binary_cross_entropy) and a three-operand VJP (mse_loss).
TEST(Autograd, BroadcastGradientGivesTheBitsOfTheExpandedOne) {
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const int64_t n : {1, 255, 256, 257, 300, 1000}) {
      SCOPED_TRACE(std::to_string(n) + " " + std::string(dtype_name(dt)));
      Generator gen(static_cast<uint64_t>(n));
      const Tensor p = Tensor::uniform({n, 1}, 0.05, 0.95, gen, dt);
      const Tensor y = Tensor::uniform({n, 1}, 0.0, 1.0, gen, dt);
      const Tensor scale = Tensor::uniform({}, 0.5, 2.0, gen, dt);
      // mean reduction: the loss's VJP gets scale / n broadcast over [n, 1] ...
      auto grads = [&](bool mean, auto loss_fn) {
        Tape tape;
        const Var vp = tape.leaf(p), vy = tape.leaf(y);
        if (mean) {
          tape.backward(loss_fn(vp, vy, Reduction::mean), scale);
        } else {
          // ... or, per element, that same value as a full tensor.
          const Tensor each = div(scale, static_cast<double>(n)).expand({n, 1}).contiguous();
          tape.backward(loss_fn(vp, vy, Reduction::none), each);
        }
        return std::vector<Tensor>{vp.grad(), vy.grad()};
      };
      const auto bce = [](const Var& a, const Var& b, Reduction r) {
        return binary_cross_entropy(a, b, r);
      };
      const auto mse = [](const Var& a, const Var& b, Reduction r) { return mse_loss(a, b, r); };
      for (const bool use_bce : {true, false}) {
        const std::vector<Tensor> a = use_bce ? grads(true, bce) : grads(true, mse);
        const std::vector<Tensor> b = use_bce ? grads(false, bce) : grads(false, mse);
        for (size_t i = 0; i < a.size(); ++i) {
          EXPECT_TRUE(allclose(a[i], b[i], 0, 0)) << (use_bce ? "bce" : "mse") << " grad " << i;
        }
      }
      // A binary op broadcasting its second operand: d(a * s)/da = g * s with s stride 0.
      Tape tape;
      const Var va = tape.leaf(p), vs = tape.leaf(scale);
      tape.backward(mul(va, vs), y);
      EXPECT_TRUE(allclose(va.grad(), mul(y, scale.expand({n, 1}).contiguous()), 0, 0));
    }
  }
}

// The backward observer (what dist::DataParallel uses to start sending gradients early): each
// parameter is announced once, when the reverse walk passes its first leaf, with its gradient
// already final; then backward_done; clear() removes the observer.
struct Recorder : BackwardObserver {
  std::vector<std::pair<Parameter*, double>> ready;  // parameter and its grad's first element then
  int done = 0;
  void param_ready(Parameter& p) override { ready.emplace_back(&p, p.grad.get({0})); }
  void backward_done() override { ++done; }
};

TEST(Autograd, BackwardObserverSeesEachParameterOnceWithItsFinalGradient) {
  Parameter a(Tensor::of({2}, {1}, DType::f64));
  Parameter b(Tensor::of({3}, {1}, DType::f64));
  Parameter unused(Tensor::of({5}, {1}, DType::f64));
  Tape tape;
  Recorder rec;
  tape.set_backward_observer(&rec);
  // a is recorded twice (before and after b): its gradient is final only at its first leaf.
  const Var a1 = tape.param(a);
  const Var b1 = tape.param(b);
  const Var a2 = tape.param(a);
  const Var loss = sum(a1 * b1 + a2 * a2);  // d/da = b + 2a = 7, d/db = a = 2
  loss.backward();
  ASSERT_EQ(rec.ready.size(), 2u);
  EXPECT_EQ(rec.ready[0].first, &b);  // b's leaf comes after a's first leaf
  EXPECT_EQ(rec.ready[0].second, 2.0);
  EXPECT_EQ(rec.ready[1].first, &a);
  EXPECT_EQ(rec.ready[1].second, 7.0);
  EXPECT_EQ(rec.done, 1);
  (void)unused;
  tape.clear();
  sum(tape.param(a) * 1.0).backward();  // the observer went with clear()
  EXPECT_EQ(rec.ready.size(), 2u);
  EXPECT_EQ(rec.done, 1);
}

TEST(Var, ItemAndPrinting) {
  Tape tape;
  Var x = tape.leaf(Tensor::of({1, 2}, {2}));
  EXPECT_EQ(to_string(x), "tensor([1., 2.], dtype=float32, shape=[2], requires_grad=true)");
  Var s = sum(x * x);
  EXPECT_EQ(s.item(), 5);
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "tensor(5., dtype=float32, shape=[], requires_grad=true)");
  EXPECT_EQ(to_string(Var(Tensor::scalar(3))), "tensor(3., dtype=float32, shape=[])");
  EXPECT_EQ(to_string(Var()), "tensor(undefined)");
  EXPECT_THROW(x.item(), Error);  // two elements
  tape.clear();
  EXPECT_THROW(to_string(x), Error);  // a stale handle is an error, not garbage
}

}  // namespace
}  // namespace affine
