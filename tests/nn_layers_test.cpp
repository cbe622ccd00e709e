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
  // ceil_mode: the partial last window along the odd width 5 counts (torch goldens check values).
  EXPECT_EQ(MaxPool2d(2, 0, 0, 1, true)(x).shape(), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(MaxPool2d(2, 0, 0, 1, true).name(),
            "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), "
            "ceil_mode=True)");
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

TEST(DropoutLayer, TrainEvalAndBadP) {
  Dropout drop(0.5, 11);
  EXPECT_EQ(drop.name(), "Dropout(p=0.5)");
  const Tensor x = Tensor::ones({1000});
  const Tensor y = drop(x).value();
  int zeros = 0;
  for (float v : y.to_vector<float>()) zeros += v == 0 ? 1 : 0;
  EXPECT_GT(zeros, 400);
  EXPECT_LT(zeros, 600);
  drop.eval();
  EXPECT_TRUE(allclose(drop(x).value(), x, 0, 0));
  EXPECT_EQ(error_of([] { Dropout(1.0); }), "Dropout(p=1): p must be in [0, 1)");
  EXPECT_EQ(error_of([] { Dropout(-0.5); }), "Dropout(p=-0.5): p must be in [0, 1)");
}

TEST(BatchNormLayer, BuffersTrainEvalAndCheckpoint) {
  BatchNorm2d bn(3);
  EXPECT_EQ(bn.name(),
            "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  std::vector<std::string> names;
  for (const auto& [name, t] : bn.state_dict()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked"}));
  Generator gen(2);
  const Tensor x = Tensor::normal({8, 3, 4, 4}, 2.0, 3.0, gen);
  const Tensor y = bn(x).value();
  // Training: per-channel batch statistics, so each channel of y has mean ~0 and variance ~1.
  const Tensor channel_mean = mean(y, {0, 2, 3});
  for (float m : channel_mean.to_vector<float>()) EXPECT_NEAR(m, 0, 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);
  const std::vector<float> rm = bn.running_mean.to_vector<float>();
  const std::vector<float> batch_mean = mean(x, {0, 2, 3}).to_vector<float>();
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(rm[c], 0.1 * batch_mean[c], 1e-5);
  // Evaluation: the running statistics, and nothing is updated.
  bn.eval();
  const Tensor before = bn.running_mean.clone();
  const Tensor ye = bn(x).value();
  EXPECT_TRUE(allclose(bn.running_mean, before, 0, 0));
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);
  EXPECT_FALSE(allclose(ye, y, 1e-3, 1e-3));
  // Buffers travel with the checkpoint.
  const std::string path = ::testing::TempDir() + "/bn.safetensors";
  save(bn, path);
  BatchNorm2d copy(3);
  load(copy, path);
  EXPECT_TRUE(allclose(copy.running_mean, bn.running_mean, 0, 0));
  EXPECT_TRUE(allclose(copy.running_var, bn.running_var, 0, 0));
  EXPECT_EQ(copy.num_batches_tracked.item(), 1);
  copy.eval();
  EXPECT_TRUE(allclose(copy(x).value(), ye, 0, 0));
  EXPECT_EQ(error_of([&] {
              bn(Tensor::zeros({8, 4, 4, 4}));
            }),
            "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True): "
            "expected input [N, 3, H, W], got [8, 4, 4, 4]");
  BatchNorm1d bn1(4);
  EXPECT_EQ(bn1(Tensor::zeros({5, 4})).shape(), (Shape{5, 4}));
  EXPECT_EQ(bn1(Tensor::zeros({5, 4, 7})).shape(), (Shape{5, 4, 7}));
  EXPECT_NE(error_of([&] {
              bn1(Tensor::zeros({5, 3}));
            }).find("expected input [N, 4] or [N, 4, L]"),
            std::string::npos);
}

TEST(LayerNormLayer, InitNameAndErrors) {
  LayerNorm ln({5, 6});
  EXPECT_EQ(ln.name(), "LayerNorm((5, 6), eps=1e-05, elementwise_affine=True)");
  EXPECT_TRUE(allclose(ln.weight.value, Tensor::ones({5, 6}), 0, 0));
  EXPECT_TRUE(allclose(ln.bias.value, Tensor::zeros({5, 6}), 0, 0));
  EXPECT_EQ(LayerNorm({4}, 1e-5, false).parameters().size(), 0u);
  EXPECT_EQ(LayerNorm({4}, 1e-5, false).name(),
            "LayerNorm((4,), eps=1e-05, elementwise_affine=False)");
  EXPECT_EQ(error_of([&] {
              ln(Tensor::zeros({2, 6, 5}));
            }),
            "LayerNorm((5, 6), eps=1e-05, elementwise_affine=True): layer_norm: input [2, 6, 5] "
            "does not end in the normalized shape [5, 6]");
}

TEST(EmbeddingLayer, LookupTrainAndErrors) {
  Generator gen(4);
  Embedding emb(10, 3, gen);
  EXPECT_EQ(emb.name(), "Embedding(10, 3)");
  const Tensor idx = Tensor::from_vector(std::vector<int64_t>{4, 4, 9, 0}, {2, 2});
  Tape tape;
  const Var y = emb(tape.leaf(idx, false));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_TRUE(allclose(y.value()[0][0], emb.weight.value[4], 0, 0));
  sum(y).backward();
  // Row 4 was looked up twice, rows 9 and 0 once, the rest never.
  const Tensor g = emb.weight.grad;
  EXPECT_TRUE(allclose(g[4], Tensor::full({3}, 2.0), 0, 0));
  EXPECT_TRUE(allclose(g[9], Tensor::ones({3}), 0, 0));
  EXPECT_TRUE(allclose(g[1], Tensor::zeros({3}), 0, 0));
  EXPECT_EQ(error_of([&] { emb(Tensor::from_vector(std::vector<int64_t>{10})); }),
            "Embedding(10, 3): embedding: index 10 at flat position 0 of indices [1] is out of "
            "range for weight [10, 3] (valid: 0 to 9)");
  EXPECT_NE(error_of([&] { emb(Tensor::zeros({2})); }).find("int64"), std::string::npos);
}

TEST(ActivationLayers, NamesAndValues) {
  const Tensor x = Tensor::of({-2, 0.5}, {2}, DType::f64);
  EXPECT_EQ(LeakyReLU(0.2).name(), "LeakyReLU(negative_slope=0.2)");
  EXPECT_EQ(Softplus().name(), "Softplus(beta=1, threshold=20)");
  EXPECT_EQ(GELU().name(), "GELU()");
  EXPECT_EQ(SiLU().name(), "SiLU()");
  EXPECT_EQ(LeakyReLU(0.2)(x).value().to_vector<double>(), (std::vector<double>{-0.4, 0.5}));
  EXPECT_NEAR(Softplus()(x).value().get({0}), std::log1p(std::exp(-2.0)), 1e-15);
  EXPECT_NEAR(SiLU()(x).value().get({1}), 0.5 / (1 + std::exp(-0.5)), 1e-15);
  EXPECT_NEAR(GELU()(x).value().get({1}), 0.5 * 0.5 * (1 + std::erf(0.5 / std::sqrt(2.0))), 1e-15);
  Sequential net{Linear(2, 3), GELU(), Dropout(0.1), LeakyReLU(), Softplus(), SiLU()};
  EXPECT_EQ(net(Tensor::zeros({4, 2})).shape(), (Shape{4, 3}));
}

// Layers built without a Generator draw from the default generator, as Linear does: two such
// layers differ, manual_seed(n) reproduces them, and the draws are those of Generator(n).
TEST(DefaultGenerator, LayersWithoutAGeneratorDifferAndManualSeedReproducesThem) {
  struct Layers {
    Conv2d conv_a{2, 3, 3}, conv_b{2, 3, 3};
    Embedding emb_a{10, 4}, emb_b{10, 4};
    Dropout drop_a{0.5}, drop_b{0.5};
  };
  const Tensor ones = Tensor::ones({64});
  manual_seed(5);
  Layers first;
  EXPECT_FALSE(allclose(first.conv_a.weight.value, first.conv_b.weight.value, 0, 0));
  EXPECT_FALSE(allclose(first.conv_a.bias.value, first.conv_b.bias.value, 0, 0));
  EXPECT_FALSE(allclose(first.emb_a.weight.value, first.emb_b.weight.value, 0, 0));
  const Tensor mask_a = first.drop_a(ones).value();
  EXPECT_FALSE(allclose(mask_a, first.drop_b(ones).value(), 0, 0));

  manual_seed(5);
  Layers again;
  EXPECT_TRUE(allclose(again.conv_a.weight.value, first.conv_a.weight.value, 0, 0));
  EXPECT_TRUE(allclose(again.conv_b.bias.value, first.conv_b.bias.value, 0, 0));
  EXPECT_TRUE(allclose(again.emb_b.weight.value, first.emb_b.weight.value, 0, 0));
  EXPECT_TRUE(allclose(again.drop_a(ones).value(), mask_a, 0, 0));

  Generator gen(5);  // the first layer's draws are Generator(5)'s
  Conv2d explicit_conv(2, 3, 3, {}, gen);
  EXPECT_TRUE(allclose(explicit_conv.weight.value, first.conv_a.weight.value, 0, 0));
  manual_seed(kDefaultSeed);  // leave the process-wide setting as the other tests expect it
}

}  // namespace
}  // namespace affine::nn
