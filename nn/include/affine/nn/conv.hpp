// Convolution and pooling layers on NCHW input, and Flatten, as torch.nn.Conv2d & co.
//
//   Generator gen(0);
//   Sequential net{Conv2d(1, 16, 3, {.padding = 1}, gen), ReLU(), MaxPool2d(2), Flatten(),
//                  Linear(16 * 4 * 4, 10, gen)};
//
// Errors from a layer's forward name the layer as it prints and the shapes:
// "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1)): expected input [N, 1, H, W], got [8, 3, 8,
// 8]".
#pragma once

#include <cstdint>
#include <string>

#include "affine/autograd/nn_ops.hpp"
#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"

namespace affine::nn {

/// Conv2d's optional arguments, PyTorch's defaults (use designated initialisers:
/// {.stride = 2, .padding = 1}).
struct Conv2dOptions {
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  DType dtype = DType::f32;
};

/// 2-D convolution with weight [out, in / groups, kh, kw] and bias [out], as torch.nn.Conv2d.
/// Initialisation is PyTorch's default: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// with fan_in = in / groups * kh * kw, weight first, then bias.
class AFFINE_API Conv2d : public Module {
 public:
  /// Draws the initial weights from gen.
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, const Conv2dOptions& options,
         Generator& gen);
  /// Draws from affine::default_generator(), as Linear: such layers differ from each other, and
  /// manual_seed(n) before building the model reproduces them.
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size,
         const Conv2dOptions& options = {});

  /// x [N, in, H, W] -> [N, out, OH, OW]. Throws affine::Error naming the layer and the shape
  /// for another channel count, a non-4-D input, or an input smaller than the kernel.
  Var forward(const Var& x) override;
  /// "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" (non-default options
  /// only, as PyTorch prints).
  std::string name() const override;

  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  const Conv2dOptions& options() const { return options_; }

  Parameter weight;  ///< [out, in / groups, kh, kw]
  Parameter bias;    ///< [out]; undefined when options.bias is false

 private:
  void init(Generator& gen);
  int64_t in_;
  int64_t out_;
  Size2 kernel_;
  Conv2dOptions options_;
};

/// Max pooling over kernel windows; stride defaults to the kernel size.
class AFFINE_API MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, Size2 dilation = 1,
                     bool ceil_mode = false)
      : kernel_(kernel_size),
        stride_(stride),
        padding_(padding),
        dilation_(dilation),
        ceil_mode_(ceil_mode) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  Size2 kernel_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

/// Average pooling over kernel windows; stride defaults to the kernel size.
class AFFINE_API AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                     bool count_include_pad = true)
      : kernel_(kernel_size),
        stride_(stride),
        padding_(padding),
        count_include_pad_(count_include_pad) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  Size2 kernel_, stride_, padding_;
  bool count_include_pad_;
};

/// Average pooling to a fixed output size (e.g. 1 for global average pooling).
class AFFINE_API AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : output_(output_size) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  Size2 output_;
};

/// Flattens dimensions start_dim..end_dim into one (negative dims count from the end); the
/// default keeps the batch dimension: [N, C, H, W] -> [N, C * H * W].
class AFFINE_API Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_(start_dim), end_(end_dim) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  int64_t start_, end_;
};

}  // namespace affine::nn
