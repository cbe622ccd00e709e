// linear at the tensor level (x W^T + b with an optional activation, skinny and GEMM paths) and
// its backward kernels as autograd uses them: results against a float64 reference, bit-identical
// results for any thread count, the blockwise float32 row sums' error against a bound, and the
// tanh-into-dX fusion recorded as its own op. Runs once per ISA (tests/CMakeLists.txt:
// AFFINE_ISA=generic/avx2/avx512), so every skinny kernel variant is exercised.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "affine/affine.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

Tensor R(const Shape& s, uint64_t seed, DType dt = DType::f32, double lo = -1, double hi = 1) {
  Generator g(seed);
  return Tensor::uniform(s, lo, hi, g, dt);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return max(abs(sub(a.to(DType::f64), b.to(DType::f64)))).item();
}

// The shapes of the seed network (skinny both ways), a square one and a wide one (GEMM path).
struct Case {
  int64_t rows, in, out;
};
// 2 -> 100, 2 -> 37 and 3 -> 21 end each row in a partial vector for every ISA's width, with 33, 9,
// 7 and 1 rows. 2 -> 2, 1 -> 4 and 2 -> 8 have rows of a few contiguous outputs, which the skinny
// kernel packs several rows to a vector (with rows left over: 37, 21 and 9).
const std::vector<Case> kCases = {{32, 2, 100}, {1000, 100, 2}, {33, 2, 1},     {7, 8, 9},
                                  {70, 9, 3},   {5, 64, 40},    {300, 3, 1024}, {0, 2, 3},
                                  {33, 2, 100}, {9, 2, 37},     {7, 3, 21},     {1, 2, 100},
                                  {37, 2, 2},   {21, 1, 4},     {9, 2, 8}};

TEST(Linear, MatchesMatmulPlusBiasInEveryPathAndDtype) {
  uint64_t seed = 1;
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const Case& c : kCases) {
      SCOPED_TRACE(std::to_string(c.rows) + "x" + std::to_string(c.in) + "->" +
                   std::to_string(c.out) + " " + std::string(dtype_name(dt)));
      const Tensor x = R({c.rows, c.in}, seed++, dt);
      const Tensor w = R({c.out, c.in}, seed++, dt);
      const Tensor b = R({c.out}, seed++, dt);
      const Tensor want = add(matmul(x.to(DType::f64), w.to(DType::f64).t()), b.to(DType::f64));
      const double tol = dt == DType::f32 ? 1e-5 * double(c.in) : 1e-12 * double(c.in);
      EXPECT_LE(max_abs_diff(linear(x, w, b), want), tol);
      EXPECT_LE(max_abs_diff(linear(x, w), matmul(x.to(DType::f64), w.to(DType::f64).t())), tol);
      // A transposed (strided) input and leading dimensions take the general path, same values.
      EXPECT_LE(max_abs_diff(linear(x.t().contiguous().t(), w, b), want), tol);
      EXPECT_EQ(linear(x.reshape({1, c.rows, c.in}), w, b).shape(), (Shape{1, c.rows, c.out}));
    }
  }
}

TEST(Linear, ActivationEpilogueEqualsTheOpAfterItBitForBit) {
  for (const Case& c : kCases) {
    for (const DType dt : {DType::f32, DType::f64}) {
      const Tensor x = R({c.rows, c.in}, 11, dt, -3, 3);
      const Tensor w = R({c.out, c.in}, 12, dt);
      const Tensor b = R({c.out}, 13, dt);
      const Tensor z = linear(x, w, b);
      EXPECT_TRUE(allclose(linear(x, w, b, LinearActivation::tanh), tanh(z), 0, 0));
      EXPECT_TRUE(allclose(linear(x, w, b, LinearActivation::sigmoid), sigmoid(z), 0, 0));
      EXPECT_TRUE(allclose(linear(x, w, b, LinearActivation::relu), relu(z), 0, 0));
    }
  }
}

TEST(Linear, BadInputsNameTheShapes) {
  const Tensor x = Tensor::zeros({4, 3});
  EXPECT_NE(test::error_of([&] {
              linear(x, Tensor::zeros({2, 5}));
            }).find("linear: input [4, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { linear(x, Tensor::zeros({3})); }).find("weight must be 2-D"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear(x, Tensor::zeros({2, 3}), Tensor::zeros({3}));
            }).find("bias [3] does not match weight [2, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear(x, Tensor::zeros({2, 3}, DType::f64));
            }).find("linear"),
            std::string::npos);
}

// One training step of the seed network (2-100-2-1, tanh, tanh, sigmoid, BCE) at a batch large
// enough for several row tasks; returns every parameter gradient.
std::vector<Tensor> seed_grads(int64_t batch, int threads) {
  set_num_threads(threads);
  Generator gen(3);
  nn::Sequential net{nn::Linear(2, 100, gen), nn::Tanh(),   nn::Linear(100, 2, gen), nn::Tanh(),
                     nn::Linear(2, 1, gen),   nn::Sigmoid()};
  const nn::data::Dataset d = nn::data::make_moons(batch, 0.1, 5);
  Tape tape;
  binary_cross_entropy(net(tape.leaf(d.x, false)), d.y).backward();
  std::vector<Tensor> out;
  for (Parameter* p : net.parameters()) out.push_back(p->grad.clone());
  return out;
}

// Batch 1,000 splits into 4 row tasks of 256, batch 20,000 into 20 of 1,024 (rows_per_task).
TEST(Linear, TrainingGradientsAreBitIdenticalForAnyThreadCount) {
  const int before = num_threads();
  for (const int64_t batch : {1000, 20000}) {
    const std::vector<Tensor> one = seed_grads(batch, 1);
    for (int threads : {2, 3}) {
      const std::vector<Tensor> many = seed_grads(batch, threads);
      ASSERT_EQ(one.size(), many.size());
      for (size_t i = 0; i < one.size(); ++i) {
        EXPECT_TRUE(allclose(one[i], many[i], 0, 0))
            << "parameter " << i << ", batch " << batch << ", " << threads << " threads";
      }
    }
  }
  set_num_threads(before);
}

// Float32 sums over 100,000 rows (db, and dW of a skinny layer) accumulate blockwise (chunks of 128
// rows): their error against float64 stays below 1e-6 of the sum (measured ~1.5e-7), where a
// sequential float32 sum of these positive values errs by ~1e-5 (its error grows with every
// row's rounding of an ever larger partial sum).
TEST(Linear, Float32RowSumsAreBlockwiseAccurate) {
  const int64_t rows = 100000;
  const Tensor g = R({rows, 3}, 21, DType::f32, 0, 1);
  const Tensor x = R({rows, 2}, 22, DType::f32, 0, 1);
  const Tensor w = R({3, 2}, 23);
  Tape tape;
  Parameter pw(w.clone()), pb(Tensor::zeros({3}));
  const Var y = linear(tape.leaf(x, false), tape.param(pw), tape.param(pb));
  tape.backward(y, g);
  const Tensor db64 = sum(g.to(DType::f64), {0});
  const Tensor dw64 = matmul(g.to(DType::f64).t(), x.to(DType::f64));
  const double bound_b = 1e-6 * max(db64).item();
  const double bound_w = 1e-6 * max(dw64).item();
  const double err_b = max_abs_diff(pb.grad, db64);
  const double err_w = max_abs_diff(pw.grad, dw64);
  EXPECT_LE(err_b, bound_b);
  EXPECT_LE(err_w, bound_w);
  std::printf("db error %.3g (bound %.3g), dW error %.3g (bound %.3g)\n", err_b, bound_b, err_w,
              bound_w);
}

// h = tanh(z) feeding a linear layer is recorded as one op on z; h's gradient is still right when
// h is used elsewhere too or when the user keeps it (retain_grad).
TEST(Linear, TanhIntoLinearFusionGivesTheUnfusedGradients) {
  const Tensor x = R({6, 3}, 31, DType::f64);
  const Tensor w1 = R({4, 3}, 32, DType::f64), w2 = R({2, 4}, 33, DType::f64);
  const Tensor b2 = R({2}, 34, DType::f64);
  auto net = [&](const std::vector<Var>& v, bool reuse_h) {
    const Var h = tanh(linear(v[0], v[1]));
    const Var y = sum(linear(h, v[2], v[3]) * linear(h, v[2], v[3]));
    return reuse_h ? y + sum(h * h) : y;
  };
  for (bool reuse : {false, true}) {
    const GradcheckResult r =
        gradcheck([&](const std::vector<Var>& v) { return net(v, reuse); }, {x, w1, w2, b2});
    EXPECT_TRUE(r.ok) << r.message;
  }
  // retain_grad on h: its gradient is G W summed over both uses, as without fusion.
  Tape tape;
  const Var vx = tape.leaf(x), v1 = tape.leaf(w1), v2 = tape.leaf(w2), vb = tape.leaf(b2);
  const Var h = tanh(linear(vx, v1));
  h.retain_grad();
  const Var o1 = linear(h, v2, vb);
  sum(o1).backward();
  const Tensor want = matmul(Tensor::ones({6, 2}, DType::f64), w2);
  EXPECT_TRUE(allclose(h.grad(), want, 1e-12, 1e-12));
  const Tensor want_x = matmul(mul(want, sub(1.0, mul(h.value(), h.value()))), w1);
  EXPECT_TRUE(allclose(vx.grad(), want_x, 1e-12, 1e-12));
}

// linear(x, W, b, activation) is one op with its own VJP: its value and every gradient equal those
// of linear then the activation bit for bit, whether or not x needs a gradient (when it does not,
// a tanh's derivative is applied inside the dW/db pass of a skinny layer, never stored).
TEST(Linear, ActivationOpGivesTheValuesAndGradientsOfTheTwoOps) {
  const std::vector<Case> cases = {{32, 2, 100}, {300, 100, 2}, {7, 8, 9}, {5, 64, 40}, {9, 3, 1}};
  const std::vector<LinearActivation> acts = {LinearActivation::tanh, LinearActivation::sigmoid,
                                              LinearActivation::relu};
  uint64_t seed = 40;
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const Case& c : cases) {
      for (const LinearActivation act : acts) {
        for (const bool x_grad : {false, true}) {
          SCOPED_TRACE(std::to_string(c.in) + "->" + std::to_string(c.out) + " act " +
                       std::to_string(static_cast<int>(act)) + (x_grad ? " dx" : "") + " " +
                       std::string(dtype_name(dt)));
          const Tensor x = R({c.rows, c.in}, seed++, dt, -2, 2);
          const Tensor w = R({c.out, c.in}, seed++, dt);
          const Tensor b = R({c.out}, seed++, dt);
          const Tensor up = R({c.rows, c.out}, seed++, dt);  // dLoss/dy
          auto run = [&](bool fused) {
            Tape tape;
            const Var vx = tape.leaf(x, x_grad), vw = tape.leaf(w), vb = tape.leaf(b);
            Var y;
            if (fused) {
              y = linear(vx, vw, vb, act);
            } else {
              const Var z = linear(vx, vw, vb);
              y = act == LinearActivation::tanh
                      ? tanh(z)
                      : (act == LinearActivation::sigmoid ? sigmoid(z) : relu(z));
            }
            tape.backward(y, up);
            std::vector<Tensor> out = {y.value(), vw.grad(), vb.grad()};
            if (x_grad) out.push_back(vx.grad());
            return out;
          };
          const std::vector<Tensor> two = run(false), one = run(true);
          for (size_t i = 0; i < two.size(); ++i) {
            EXPECT_TRUE(allclose(one[i], two[i], 0, 0)) << "result " << i;
          }
        }
      }
    }
  }
}

TEST(Linear, ActivationOpBadInputsNameTheShapes) {
  Tape tape;
  const Var x = tape.leaf(Tensor::zeros({4, 3}));
  EXPECT_NE(test::error_of([&] {
              linear(x, tape.leaf(Tensor::zeros({2, 5})), Var(), LinearActivation::tanh);
            }).find("linear: input [4, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear(x, tape.leaf(Tensor::zeros({2, 3})), tape.leaf(Tensor::zeros({3})),
                     LinearActivation::sigmoid);
            }).find("bias [3] does not match weight [2, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { linear(x, Var(), Var(), LinearActivation::relu); }).find("linear"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear(Tensor::zeros({4, 3}), Tensor::zeros({2, 3}), Tensor(),
                     static_cast<LinearActivation>(9));
            }).find("linear: unknown activation 9"),
            std::string::npos);
}

// linear_tanh_linear is one op over two layers: its gradients equal those of the two layers
// recorded one by one (linear, tanh, linear: the second recorded as tanh_linear) bit for bit, in
// the one-pass path (narrow input and output; several chunks and tasks of rows) and the general
// one; its output equals theirs to rounding (the second product runs the dot kernel directly).
TEST(Linear, TanhBetweenTwoLayersAsOneOpGivesTheUnfusedGradients) {
  struct Case4 {
    int64_t rows, in, hid, out;
  };
  const std::vector<Case4> cases = {
      {300, 2, 100, 2}, {9000, 3, 20, 1}, {5, 8, 17, 8}, {7, 12, 9, 10}, {0, 2, 5, 2}};
  uint64_t seed = 90;
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const Case4& c : cases) {
      for (const bool x_grad : {false, true}) {
        for (const bool with_bias : {true, false}) {
          SCOPED_TRACE(std::to_string(c.rows) + " rows " + std::to_string(c.in) + "-" +
                       std::to_string(c.hid) + "-" + std::to_string(c.out) + (x_grad ? " dx" : "") +
                       (with_bias ? " bias" : "") + " " + std::string(dtype_name(dt)));
          const Tensor x = R({c.rows, c.in}, seed++, dt, -2, 2);
          const Tensor w1 = R({c.hid, c.in}, seed++, dt), b1 = R({c.hid}, seed++, dt);
          const Tensor w2 = R({c.out, c.hid}, seed++, dt), b2 = R({c.out}, seed++, dt);
          const Tensor up = R({c.rows, c.out}, seed++, dt);
          auto run = [&](bool fused) {
            Tape tape;
            const Var vx = tape.leaf(x, x_grad), v1 = tape.leaf(w1), v2 = tape.leaf(w2);
            const Var vb1 = with_bias ? tape.leaf(b1) : Var();
            const Var vb2 = with_bias ? tape.leaf(b2) : Var();
            const Var z = fused ? linear_tanh_linear(vx, v1, vb1, v2, vb2)
                                : linear(tanh(linear(vx, v1, vb1)), v2, vb2);
            tape.backward(z, up);
            std::vector<Tensor> out = {z.value(), v1.grad(), v2.grad()};
            if (with_bias) {
              out.push_back(vb1.grad());
              out.push_back(vb2.grad());
            }
            if (x_grad) out.push_back(vx.grad());
            return out;
          };
          const std::vector<Tensor> two = run(false), one = run(true);
          ASSERT_EQ(one.size(), two.size());
          const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
          EXPECT_TRUE(allclose(one[0], two[0], tol, tol)) << "output";
          for (size_t i = 1; i < two.size(); ++i) {
            EXPECT_TRUE(allclose(one[i], two[i], 0, 0)) << "gradient " << i;
          }
        }
      }
    }
  }
}

// With an activation after the second layer (nn::Sequential's Linear, Tanh, Linear, Tanh), the
// one op's gradients equal those of the activation op recorded after it, bit for bit: the
// gradient through the activation is formed a chunk of rows at a time inside the op with the
// activation op's own kernels. Also when the gradient reaching the op is a strided view (the loss
// reads z transposed, or beside another column: concat's backward hands each input a column
// slice), and for every thread count (the result is compared across 1 and 2).
TEST(Linear, TanhBetweenTwoLayersWithAnActivationAfterGivesTheUnfusedGradients) {
  struct Case4 {
    int64_t rows, in, hid, out;
  };
  const std::vector<Case4> cases = {{300, 2, 100, 2}, {9000, 3, 20, 1}, {7, 12, 9, 10}};
  const std::vector<std::pair<LinearActivation, Var (*)(const Var&)>> acts = {
      {LinearActivation::tanh, [](const Var& v) { return tanh(v); }},
      {LinearActivation::sigmoid, [](const Var& v) { return sigmoid(v); }},
      {LinearActivation::relu, [](const Var& v) { return relu(v); }}};
  uint64_t seed = 400;
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const Case4& c : cases) {
      for (const auto& [act, act_op] : acts) {
        for (const int layout : {0, 1, 2}) {  // z read as is, transposed, beside a column
          const bool transposed = layout == 1;
          SCOPED_TRACE(std::to_string(c.rows) + " rows " + std::to_string(c.in) + "-" +
                       std::to_string(c.hid) + "-" + std::to_string(c.out) + " activation " +
                       std::to_string(static_cast<int>(act)) + " layout " + std::to_string(layout) +
                       " " + std::string(dtype_name(dt)));
          const Tensor x = R({c.rows, c.in}, seed++, dt, -2, 2);
          const Tensor w1 = R({c.hid, c.in}, seed++, dt), b1 = R({c.hid}, seed++, dt);
          const Tensor w2 = R({c.out, c.hid}, seed++, dt, -2, 2), b2 = R({c.out}, seed++, dt);
          const Tensor up = R({c.rows, c.out}, seed++, dt);
          auto run = [&](bool fused, int threads) {
            set_num_threads(threads);
            Tape tape;
            const Var vx = tape.leaf(x), v1 = tape.leaf(w1), v2 = tape.leaf(w2);
            const Var vb1 = tape.leaf(b1), vb2 = tape.leaf(b2);
            const Var z = fused ? linear_tanh_linear(vx, v1, vb1, v2, vb2, act)
                                : act_op(linear(tanh(linear(vx, v1, vb1)), v2, vb2));
            if (transposed) {
              tape.backward(transpose(z, 0, 1), up.t().contiguous());
            } else if (layout == 2) {
              const Tensor extra = Tensor::ones({c.rows, 1}, dt);
              tape.backward(concat({z, tape.leaf(extra)}, 1), concat({up, extra}, 1));
            } else {
              tape.backward(z, up);
            }
            set_num_threads(1);
            return std::vector<Tensor>{z.value(),  v1.grad(),  v2.grad(),
                                       vb1.grad(), vb2.grad(), vx.grad()};
          };
          const std::vector<Tensor> two = run(false, 1), one = run(true, 1), par = run(true, 2);
          const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
          EXPECT_TRUE(allclose(one[0], two[0], tol, tol)) << "output";
          for (size_t i = 1; i < two.size(); ++i) {
            EXPECT_TRUE(allclose(one[i], two[i], 0, 0)) << "gradient " << i;
          }
          for (size_t i = 0; i < one.size(); ++i) {
            EXPECT_TRUE(allclose(par[i], one[i], 0, 0)) << "2 threads, result " << i;
          }
        }
      }
    }
  }
}

// The kernels write dW and db straight into a Parameter's gradient (adding to it) and into a
// fresh tensor for any other leaf (setting it): the two give the same bits, for linear, linear
// with an activation and linear_tanh_linear, skinny (on either side) and general shapes, so
// neither path can drift from the other (a Parameter's gradient starts at zero).
TEST(Linear, ParameterGradientsEqualThoseOfPlainLeaves) {
  struct Case3 {
    int64_t rows, in, out;
  };
  uint64_t seed = 600;
  for (const DType dt : {DType::f32, DType::f64}) {
    for (const Case3& c : {Case3{300, 2, 100}, Case3{300, 100, 2}, Case3{9, 12, 10}}) {
      SCOPED_TRACE(std::to_string(c.in) + " -> " + std::to_string(c.out) + " " +
                   std::string(dtype_name(dt)));
      const Tensor x = R({c.rows, c.in}, seed++, dt, -2, 2);
      const std::vector<Tensor> values = {R({c.out, c.in}, seed++, dt), R({c.out}, seed++, dt),
                                          R({3, c.out}, seed++, dt), R({3}, seed++, dt)};
      for (int which = 0; which < 3; ++which) {  // linear, linear + tanh, linear_tanh_linear
        auto grads = [&](bool as_params) {
          Tape tape;
          std::vector<Parameter> params;
          for (const Tensor& v : values) params.emplace_back(v.clone());
          std::vector<Var> p;
          for (size_t i = 0; i < values.size(); ++i) {
            p.push_back(as_params ? tape.param(params[i]) : tape.leaf(values[i]));
          }
          const Var vx = tape.leaf(x, false);
          const Var z = which == 0   ? linear(vx, p[0], p[1])
                        : which == 1 ? linear(vx, p[0], p[1], LinearActivation::tanh)
                                     : linear_tanh_linear(vx, p[0], p[1], p[2], p[3],
                                                          LinearActivation::sigmoid);
          tape.backward(z, Tensor::ones(z.value().shape(), dt));
          std::vector<Tensor> out;
          for (size_t i = 0; i < (which == 2 ? 4u : 2u); ++i) {
            out.push_back(as_params ? params[i].grad : p[i].grad());
          }
          return out;
        };
        const std::vector<Tensor> leaf = grads(false), param = grads(true);
        for (size_t i = 0; i < leaf.size(); ++i) {
          EXPECT_TRUE(allclose(param[i], leaf[i], 0, 0)) << "op " << which << " grad " << i;
        }
      }
    }
  }
}

// A row's output and its contribution do not depend on the rows around it: the same rows give
// the same bits at any offset in batches of any size (data-parallel shards rely on it).
TEST(Linear, TanhBetweenTwoLayersRowResultsDoNotDependOnTheBatch) {
  const Tensor x = R({40, 2}, 120, DType::f32, -2, 2);
  const Tensor w1 = R({100, 2}, 121), b1 = R({100}, 122), w2 = R({2, 100}, 123), b2 = R({2}, 124);
  const Tensor want = linear(tanh(linear(x, w1, b1)), w2, b2);
  for (int64_t start : {0, 1, 3, 5}) {
    for (int64_t len : {1, 2, 3, 4, 5, 7, 9, 33}) {
      SCOPED_TRACE(std::to_string(start) + "+" + std::to_string(len));
      Tape tape;
      const Var z = linear_tanh_linear(Var(x.slice(0, start, start + len)), Var(w1), Var(b1),
                                       Var(w2), Var(b2));
      EXPECT_TRUE(allclose(z.value(), want.slice(0, start, start + len), 0, 0));
    }
  }
}

TEST(Linear, TanhBetweenTwoLayersBadInputsNameTheShapes) {
  Tape tape;
  const Var x = tape.leaf(Tensor::zeros({4, 3}));
  const Var w1 = tape.leaf(Tensor::zeros({5, 3})), b1 = tape.leaf(Tensor::zeros({5}));
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, tape.leaf(Tensor::zeros({5, 2})), b1,
                                 tape.leaf(Tensor::zeros({2, 5})), Var());
            }).find("linear: input [4, 3] and weight [5, 2]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, w1, b1, tape.leaf(Tensor::zeros({2, 4})), Var());
            }).find("linear: input [4, 5] and weight [2, 4]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, w1, b1, tape.leaf(Tensor::zeros({2, 5})),
                                 tape.leaf(Tensor::zeros({3})));
            }).find("bias [3] does not match weight [2, 5]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, w1, tape.leaf(Tensor::zeros({4})),
                                 tape.leaf(Tensor::zeros({2, 5})), Var());
            }).find("bias [4] does not match weight [5, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { linear_tanh_linear(x, w1, b1, Var(), Var()); }).find("linear"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, w1, b1, tape.leaf(Tensor::zeros({2, 5})), Var(),
                                 static_cast<LinearActivation>(7));
            }).find("linear: unknown activation 7"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              linear_tanh_linear(x, w1, b1, tape.leaf(Tensor::zeros({2, 5}, DType::f64)), Var());
            }).find("linear"),
            std::string::npos);
}

// nn::Sequential runs a Linear followed by Tanh/Sigmoid/ReLU as that one op, with the
// layer-by-layer run's results (forward_all runs the layers one by one). The output and the last
// layer's gradients are the same bit for bit. Before them: the layer-by-layer run records
// tanh_linear for a Linear whose input is a tanh (tanh' in its dX pass, 1 - y^2 rounded once by
// an FMA) where the fused run applies tanh_backward's g (1 - y*y) (two roundings) in the tanh's
// own op, so gradients below a tanh may differ by float32 roundings, nothing more.
TEST(Linear, SequentialFusesLinearAndActivationWithTheSameResults) {
  for (const bool relu_first : {true, false}) {
    SCOPED_TRACE(relu_first ? "relu first" : "tanh first");
    Generator gen(8);
    nn::Sequential net;
    net.push_back(std::make_unique<nn::Linear>(2, 100, gen));
    if (relu_first) {
      net.push_back(std::make_unique<nn::ReLU>());
    } else {
      net.push_back(std::make_unique<nn::Tanh>());
    }
    net.push_back(std::make_unique<nn::Linear>(100, 2, gen));
    net.push_back(std::make_unique<nn::Tanh>());
    net.push_back(std::make_unique<nn::Linear>(2, 1, gen));
    net.push_back(std::make_unique<nn::Sigmoid>());
    const nn::data::Dataset d = nn::data::make_moons(500, 0.1, 5);
    auto grads = [&](bool fused) {
      net.zero_grad();
      Tape tape;
      const Var x = tape.leaf(d.x, false);
      const Var p = fused ? net(x) : net.forward_all(x).back();
      binary_cross_entropy(p, d.y).backward();
      std::vector<Tensor> out = {p.value()};
      for (Parameter* q : net.parameters()) out.push_back(q->grad.clone());
      return out;
    };
    const std::vector<Tensor> a = grads(true), b = grads(false);
    ASSERT_EQ(a.size(), 7u);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const bool exact = i == 0 || i >= 5;
      EXPECT_TRUE(exact ? allclose(a[i], b[i], 0, 0) : allclose(a[i], b[i], 1e-5, 1e-7))
          << "result " << i;
    }
  }
}

}  // namespace
}  // namespace affine
