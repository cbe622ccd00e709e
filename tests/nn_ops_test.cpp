// The neural-network ops of nn_ops.hpp: gradcheck in float64 for each (several geometries for
// convolution and pooling), hand-checked values where a small case makes them obvious, and the
// errors for bad input. Values against PyTorch are in nn_golden_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "affine/affine.hpp"
#include "gradcheck_util.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using test::error_of;

const auto& check = test::check_gradient;

Tensor N(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(s, g, DType::f64);
}

// ---- conv2d -------------------------------------------------------------------------------------

struct ConvCase {
  Shape x, w;
  Size2 stride, padding, dilation;
  int64_t groups;
  bool bias;
};

TEST(NnOpsGradcheck, Conv2dGeometries) {
  const std::vector<ConvCase> cases = {
      {{2, 1, 5, 5}, {3, 1, 3, 3}, 1, 0, 1, 1, true},
      {{1, 2, 5, 6}, {3, 2, 3, 2}, 1, 1, 1, 1, true},
      {{2, 2, 6, 5}, {2, 2, 3, 3}, {2, 1}, {1, 0}, 1, 1, false},
      {{1, 2, 7, 7}, {2, 2, 3, 3}, 1, 2, 2, 1, true},
      {{2, 2, 6, 5}, {3, 2, 5, 3}, 1, {2, 1}, 1, 1, true},  // "same": one run per offset
      {{1, 4, 4, 4}, {6, 2, 2, 2}, 1, 0, 1, 2, true},
      {{2, 3, 3, 4}, {2, 3, 1, 1}, 1, 0, 1, 1, true},   // pointwise: no unfolding
      {{1, 4, 4, 3}, {4, 1, 3, 3}, 2, 1, 1, 4, false},  // depthwise, strided
  };
  uint64_t seed = 10;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(to_string(c.x) + " * " + to_string(c.w));
    std::vector<Tensor> in{N(c.x, seed++), N(c.w, seed++)};
    if (c.bias) in.push_back(N({c.w[0]}, seed++));
    EXPECT_TRUE(check(
        [&](const std::vector<Var>& v) {
          return conv2d(v[0], v[1], c.bias ? v[2] : Var(), c.stride, c.padding, c.dilation,
                        c.groups);
        },
        in));
  }
}

TEST(NnOps, Conv2dByHand) {
  // A 1x1 input channel, 3x3 ones kernel, padding 1: each output sums its 3x3 neighbourhood.
  const Tensor x = Tensor::of({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::f64);
  const Tensor w = Tensor::ones({1, 1, 3, 3}, DType::f64);
  const Tensor y = conv2d(x, w, Tensor::of({0.5}, {1}, DType::f64), 1, 1).value();
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.to_vector<double>(),
            (std::vector<double>{12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5}));
}

TEST(NnOps, Conv2dFloat32MatchesFloat64) {
  const Tensor x = N({3, 4, 9, 9}, 1);
  const Tensor w = N({8, 2, 3, 3}, 2);
  const Tensor b = N({8}, 3);
  const Tensor y64 = conv2d(x, w, b, 2, 1, 1, 2).value();
  const Tensor y32 =
      conv2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), 2, 1, 1, 2).value();
  EXPECT_TRUE(allclose(y32.to(DType::f64), y64, 1e-4, 1e-4));
}

TEST(NnOps, Conv2dErrors) {
  const Tensor x = Tensor::zeros({2, 3, 5, 5});
  EXPECT_EQ(error_of([&] {
              conv2d(x, Tensor::zeros({4, 2, 3, 3}));
            }),
            "conv2d: input [2, 3, 5, 5] has 3 channels but weight [4, 2, 3, 3] expects 2");
  EXPECT_EQ(error_of([&] {
              conv2d(x, Tensor::zeros({4, 3, 7, 7}));
            }),
            "conv2d: kernel 7x7 is larger than the padded input 5x5 (input [2, 3, 5, 5], "
            "padding 0x0)");
  EXPECT_EQ(error_of([&] {
              conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3}));
            }),
            "conv2d: bias [3] does not match weight [4, 3, 3, 3] (expected [4])");
  EXPECT_EQ(error_of([&] {
              conv2d(Tensor::zeros({3, 5, 5}), Tensor::zeros({4, 3, 3, 3}));
            }),
            "conv2d: expected a 4-D input [N, C, H, W], got [3, 5, 5]");
  EXPECT_NE(error_of([&] {
              conv2d(x, Tensor::zeros({4, 1, 3, 3}), Var(), 1, 0, 1, 2);
            }).find("groups=2 must divide"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              conv2d(x, Tensor::zeros({4, 3, 3, 3}, DType::f64));
            }).find("dtypes"),
            std::string::npos);
}

// ---- pooling ------------------------------------------------------------------------------------

TEST(NnOpsGradcheck, Pooling) {
  const Tensor x = N({2, 2, 5, 6}, 30);  // distinct values: max has a unique argmax
  EXPECT_TRUE(check([](const std::vector<Var>& v) { return max_pool2d(v[0], 2); }, {x}));
  EXPECT_TRUE(check([](const std::vector<Var>& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}));
  EXPECT_TRUE(check([](const std::vector<Var>& v) { return max_pool2d(v[0], 2, 1, 0, 2); }, {x}));
  EXPECT_TRUE(check([](const std::vector<Var>& v) { return avg_pool2d(v[0], 2); }, {x}));
  EXPECT_TRUE(
      check([](const std::vector<Var>& v) { return avg_pool2d(v[0], 3, 2, 1, true); }, {x}));
  EXPECT_TRUE(
      check([](const std::vector<Var>& v) { return avg_pool2d(v[0], 3, 2, 1, false); }, {x}));
  EXPECT_TRUE(check(
      [](const std::vector<Var>& v) {
        return adaptive_avg_pool2d(v[0], {3, 4});
      },
      {x}));
  EXPECT_TRUE(check([](const std::vector<Var>& v) { return adaptive_avg_pool2d(v[0], 1); }, {x}));
}

TEST(NnOps, PoolingByHand) {
  const Tensor x =
      Tensor::of({1, 5, 2, 0, 3, 4, 8, 1, 7, 6, 2, 9, 0, 1, 3, 2}, {1, 1, 4, 4}, DType::f64);
  EXPECT_EQ(max_pool2d(x, 2).value().to_vector<double>(), (std::vector<double>{5, 8, 7, 9}));
  EXPECT_EQ(avg_pool2d(x, 2).value().to_vector<double>(),
            (std::vector<double>{13.0 / 4, 11.0 / 4, 14.0 / 4, 16.0 / 4}));
  EXPECT_EQ(adaptive_avg_pool2d(x, 1).value().to_vector<double>(),
            (std::vector<double>{54.0 / 16}));
}

TEST(NnOps, PoolingErrors) {
  const Tensor x = Tensor::zeros({1, 1, 3, 3});
  EXPECT_EQ(error_of([&] { max_pool2d(x, 4); }),
            "max_pool2d: kernel 4x4 is larger than the padded input 3x3 (input [1, 1, 3, 3], "
            "padding 0x0)");
  EXPECT_EQ(error_of([&] { avg_pool2d(x, 2, 1, 2); }),
            "avg_pool2d: padding 2x2 must be at most half the kernel 2x2 (input [1, 1, 3, 3])");
  EXPECT_NE(error_of([&] {
              adaptive_avg_pool2d(Tensor::zeros({3, 3}), 2);
            }).find("[3, 3]"),
            std::string::npos);
}

// ---- normalisation, dropout, embedding, activations
// ----------------------------------------------

TEST(NnOpsGradcheck, LayerNorm) {
  EXPECT_TRUE(check(
      [](const std::vector<Var>& v) {
        return layer_norm(v[0], {3, 4}, v[1], v[2]);
      },
      {N({2, 3, 4}, 40), N({3, 4}, 41), N({3, 4}, 42)}));
  EXPECT_TRUE(
      check([](const std::vector<Var>& v) { return layer_norm(v[0], {5}); }, {N({3, 5}, 43)}));
}

TEST(NnOpsGradcheck, BatchNormTrainingAndEvaluation) {
  for (const bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    EXPECT_TRUE(check(
        [training](const std::vector<Var>& v) {
          Tensor mean = Tensor::zeros({3}, DType::f64);
          Tensor var = Tensor::full({3}, 1.5, DType::f64);
          return batch_norm(v[0], mean, var, v[1], v[2], training);
        },
        {N({4, 3, 2, 2}, 44), N({3}, 45), N({3}, 46)}));
  }
  EXPECT_TRUE(
      check([](const std::vector<Var>& v) { return batch_norm(v[0], {}, {}, Var(), Var(), true); },
            {N({5, 2}, 47)}));
}

TEST(NnOpsGradcheck, EmbeddingDropoutActivations) {
  const Tensor idx = Tensor::from_vector(std::vector<int64_t>{2, 0, 2, 3, 1, 2}, {2, 3});
  EXPECT_TRUE(
      check([&](const std::vector<Var>& v) { return embedding(idx, v[0]); }, {N({4, 3}, 48)}));
  // A fresh generator per call: gradcheck evaluates fn many times and needs the same mask.
  EXPECT_TRUE(check(
      [](const std::vector<Var>& v) {
        Generator gen(7);
        return dropout(v[0], 0.4, true, gen);
      },
      {N({3, 5}, 49)}));
}

TEST(NnOpsGradcheck, Losses) {
  const Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 0, 3, 3});
  const Tensor weight = Tensor::of({0.5, 2, 1, 1.5}, {4}, DType::f64);
  for (const Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
    EXPECT_TRUE(check(
        [&](const std::vector<Var>& v) {
          return cross_entropy(v[0], targets,
                               {.reduction = r, .weight = weight, .label_smoothing = 0.2});
        },
        {N({4, 4}, 51)}));
    EXPECT_TRUE(check([&](const std::vector<Var>& v) { return nll_loss(v[0], targets, r, weight); },
                      {N({4, 4}, 52)}));
    // ignore_index as a class index (3): two of the four rows drop out.
    EXPECT_TRUE(check(
        [&](const std::vector<Var>& v) {
          return cross_entropy(
              v[0], targets,
              {.reduction = r, .weight = weight, .label_smoothing = 0.2, .ignore_index = 3});
        },
        {N({4, 4}, 55)}));
    const Tensor a = N({3, 4}, 53);
    const Tensor b = N({3, 4}, 54);
    EXPECT_TRUE(check([r](const std::vector<Var>& v) { return l1_loss(v[0], v[1], r); }, {a, b}));
    EXPECT_TRUE(check([r](const std::vector<Var>& v) { return smooth_l1_loss(v[0], v[1], r, 0.8); },
                      {a, b}));
    EXPECT_TRUE(
        check([r](const std::vector<Var>& v) { return huber_loss(v[0], v[1], r, 0.8); }, {a, b}));
  }
}

TEST(NnOps, DropoutStatisticsAndIdentity) {
  Generator gen(3);
  const Tensor x = Tensor::ones({100000}, DType::f64);
  const Tensor y = dropout(x, 0.3, true, gen).value();
  int64_t zeros = 0;
  for (double v : y.to_vector<double>()) {
    if (v == 0) {
      ++zeros;
    } else {
      EXPECT_DOUBLE_EQ(v, 1 / 0.7);
    }
  }
  EXPECT_NEAR(static_cast<double>(zeros) / 100000, 0.3, 0.01);
  EXPECT_TRUE(allclose(dropout(x, 0.3, false, gen).value(), x, 0, 0));
  Generator a(5);
  Generator b(5);
  EXPECT_TRUE(allclose(dropout(x, 0.5, true, a).value(), dropout(x, 0.5, true, b).value(), 0, 0));
}

TEST(NnOps, NormDropoutEmbeddingErrors) {
  Generator gen(0);
  EXPECT_EQ(error_of([&] {
              dropout(Tensor::ones({2, 3}), 1.0, true, gen);
            }),
            "dropout: p must be in [0, 1), got 1.000000 (input [2, 3])");
  EXPECT_EQ(error_of([&] {
              dropout(Tensor::ones({2, 3}), -0.1, true, gen);
            }),
            "dropout: p must be in [0, 1), got -0.100000 (input [2, 3])");
  EXPECT_EQ(error_of([&] {
              embedding(Tensor::from_vector(std::vector<int64_t>{1, 7}), Tensor::zeros({5, 2}));
            }),
            "embedding: index 7 at flat position 1 of indices [2] is out of range for weight "
            "[5, 2] (valid: 0 to 4)");
  EXPECT_EQ(error_of([&] {
              layer_norm(Tensor::zeros({2, 3}), {4});
            }),
            "layer_norm: input [2, 3] does not end in the normalized shape [4]");
  EXPECT_EQ(error_of([&] {
              batch_norm(Tensor::zeros({2, 3}), {}, {}, Tensor::ones({4}), Var(), true);
            }),
            "batch_norm: weight [4] does not match (expected [3] for input [2, 3])");
  EXPECT_NE(error_of([&] {
              batch_norm(Tensor::zeros({1, 3}), {}, {}, Var(), Var(), true);
            }).find("more than 1 value per channel"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector(std::vector<int64_t>{0, 1}),
                            {.weight = Tensor::ones({2})});
            }).find("weight [2] must have one entry per class"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              huber_loss(Tensor::zeros({2}), Tensor::zeros({2}), Reduction::mean, 0);
            }).find("delta must be positive"),
            std::string::npos);
}

// The activations are rows of the elementwise table: Tensor and Var forms agree, and softplus's
// parameters are checked by the row's `valid` column.
TEST(NnOps, TableActivations) {
  const Tensor x = Tensor::of({-3, -0.5, 0, 0.5, 3}, {5}, DType::f64);
  EXPECT_TRUE(allclose(gelu(x), gelu(Var(x)).value(), 0, 0));
  EXPECT_TRUE(allclose(softplus(x, 2, 1), softplus(Var(x), 2, 1).value(), 0, 0));
  EXPECT_EQ(softplus(x, 2, 1).get({4}), 3);  // beta x > threshold: x itself
  EXPECT_EQ(leaky_relu(x).get({0}), -0.03);
  EXPECT_EQ(error_of([&] { softplus(Var(x), 0, 20); }),
            "softplus: beta must be nonzero and threshold a number, got beta 0.000000, threshold "
            "20.000000");
  EXPECT_THROW(softplus(x, 1, std::nan("")), Error);
}

TEST(NnOps, IgnoreIndex) {
  const Tensor logits = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_EQ(error_of([&] {
              cross_entropy(logits, Tensor::from_vector(std::vector<int64_t>{0, -1}));
            }),
            "cross_entropy: target -1 at position 1 is out of range for 3 classes (ignore_index "
            "is -100)");
  EXPECT_EQ(
      error_of([&] {
        nll_loss(logits, Tensor::from_vector(std::vector<int64_t>{-100, 3}), Reduction::mean,
                 Tensor(), 5);
      }),
      "nll_loss: target -100 at position 0 is out of range for 3 classes (ignore_index is 5)");
  // Every row ignored: the mean divides 0 by 0 (NaN, as PyTorch); sum is 0, and so is every
  // gradient.
  const Tensor all = Tensor::from_vector(std::vector<int64_t>{-100, -100});
  EXPECT_TRUE(std::isnan(cross_entropy(logits, all).value().item()));
  Tape tape;
  Var x = tape.leaf(Tensor::ones({2, 3}, DType::f64));
  Var loss = cross_entropy(x, all, Reduction::sum);
  EXPECT_EQ(loss.value().item(), 0);
  loss.backward();
  EXPECT_EQ(max(abs(x.grad())).item(), 0);
}

}  // namespace
}  // namespace affine
