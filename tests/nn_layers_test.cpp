// The layers of nn/conv.hpp and nn/layers.hpp beyond Linear: shapes, initialisation, printing,
// train/eval behaviour, checkpoints, and errors that name the layer and the shapes. Values and
// gradients against PyTorch are in nn_golden_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "affine/affine.hpp"
#include "test_util.hpp"

namespace affine::nn {
namespace {

using test::error_of;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Conv2dLayer, ShapesInitAndName) {
  Generator gen(1);
  Conv2d conv(4, 6, {3, 2}, {.stride = 2, .padding = 1, .groups = 2}, gen);
  EXPECT_EQ(conv.weight.value.shape(), (Shape{6, 2, 3, 2}));
  EXPECT_EQ(conv.bias.value.shape(), (Shape{6}));
  EXPECT_EQ(conv.name(),
            "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), groups=2)");
  // PyTorch's default init: U(-b, b) with b = 1 / sqrt(fan_in), fan_in = 2 * 3 * 2.
  const double bound = 1 / std::sqrt(12.0);
  for (const Tensor* t : {&conv.weight.value, &conv.bias.value}) {
    for (float v : t->to_vector<float>()) EXPECT_LE(std::abs(v), bound);
  }
  const Var y = conv(Tensor::zeros({5, 4, 7, 6}));
  EXPECT_EQ(y.shape(), (Shape{5, 6, 4, 4}));
  EXPECT_EQ(conv.parameters().size(), 2u);
  Conv2d no_bias(1, 2, 3, {.bias = false});
  EXPECT_EQ(no_bias.parameters().size(), 1u);
  EXPECT_EQ(no_bias.name(), "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), bias=False)");
}

TEST(Conv2dLayer, ErrorsNameTheLayerAndShapes) {
  Conv2d conv(1, 16, 3);
  EXPECT_EQ(error_of([&] {
              conv(Tensor::zeros({8, 3, 8, 8}));
            }),
            "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1)): expected input [N, 1, H, W], got "
            "[8, 3, 8, 8]");
  EXPECT_EQ(error_of([&] {
              conv(Tensor::zeros({8, 1, 2, 8}));
            }),
            "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1)): conv2d: kernel 3x3 is larger than "
            "the padded input 2x8 (input [8, 1, 2, 8], padding 0x0)");
  EXPECT_TRUE(contains(error_of([] { Conv2d(3, 4, 3, {.groups = 2}); }), "groups=2 must divide"));
  EXPECT_TRUE(contains(error_of([] { Conv2d(3, 4, 0); }), "must be positive"));
}

TEST(PoolLayers, ShapesNamesAndErrors) {
  const Tensor x = Tensor::zeros({2, 3, 6, 5});
  EXPECT_EQ(MaxPool2d(2)(x).shape(), (Shape{2, 3, 3, 2}));
  EXPECT_EQ(AvgPool2d(3, 1, 1)(x).shape(), (Shape{2, 3, 6, 5}));
  EXPECT_EQ(AdaptiveAvgPool2d(1)(x).shape(), (Shape{2, 3, 1, 1}));
  EXPECT_EQ(MaxPool2d(2).name(),
            "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1))");
  EXPECT_EQ(error_of([&] { MaxPool2d(7)(x); }),
            "MaxPool2d(kernel_size=(7, 7), stride=(7, 7), padding=(0, 0), dilation=(1, 1)): "
            "max_pool2d: kernel 7x7 is larger than the padded input 6x5 (input [2, 3, 6, 5], "
            "padding 0x0)");
}

TEST(FlattenLayer, Dims) {
  const Tensor x = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(Flatten()(x).shape(), (Shape{2, 60}));
  EXPECT_EQ(Flatten(0)(x).shape(), (Shape{120}));
  EXPECT_EQ(Flatten(1, 2)(x).shape(), (Shape{2, 12, 5}));
  EXPECT_TRUE(contains(error_of([&] { Flatten(4)(x); }), "[2, 3, 4, 5]"));
}

TEST(Conv2dLayer, TrainsInSequentialAndRoundTripsThroughCheckpoint) {
  Generator gen(3);
  Sequential net{Conv2d(1, 4, 3, {.padding = 1}, gen), ReLU(), MaxPool2d(2), Flatten(),
                 Linear(4 * 2 * 2, 3, gen)};
  const Tensor x = Tensor::randn({6, 1, 4, 4}, gen);
  const Tensor y = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 0, 1, 2});
  optim::Adam opt(net.parameters(), {.lr = 0.05});
  Tape tape;
  double first = 0;
  double last = 0;
  for (int step = 0; step < 30; ++step) {
    tape.clear();
    opt.zero_grad();
    const Var loss = cross_entropy(net(tape.leaf(x, false)), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.value().item();
  }
  EXPECT_LT(last, 0.5 * first);
  const std::string path = ::testing::TempDir() + "/conv_net.safetensors";
  save(net, path);
  Generator other(99);
  Sequential copy{Conv2d(1, 4, 3, {.padding = 1}, other), ReLU(), MaxPool2d(2), Flatten(),
                  Linear(4 * 2 * 2, 3, other)};
  load(copy, path);
  EXPECT_TRUE(allclose(copy(x).value(), net(x).value(), 0, 0));
}

}  // namespace
}  // namespace affine::nn
