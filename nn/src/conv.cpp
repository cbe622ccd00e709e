#include "affine/nn/conv.hpp"

#include <string>

#include "affine/autograd/ops.hpp"
#include "affine/nn/init.hpp"
#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

using detail::named_errors;
using detail::pair_text;

// ---- Conv2d ---------------------------------------------------------------------------------

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size,
               const Conv2dOptions& options, Generator& gen)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), options_(options) {
  init(gen);
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size,
               const Conv2dOptions& options)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), options_(options) {
  init(default_generator());
}

void Conv2d::init(Generator& gen) {
  const Conv2dOptions& o = options_;
  const bool sizes_ok = in_ >= 1 && out_ >= 1 && kernel_.h >= 1 && kernel_.w >= 1 &&
                        o.stride.h >= 1 && o.stride.w >= 1 && o.padding.h >= 0 &&
                        o.padding.w >= 0 && o.dilation.h >= 1 && o.dilation.w >= 1;
  if (!sizes_ok) {
    throw Error(name() +
                ": channels, kernel, stride and dilation must be positive and padding "
                "non-negative");
  }
  if (o.groups < 1 || in_ % o.groups != 0 || out_ % o.groups != 0) {
    throw Error(name() + ": groups=" + std::to_string(o.groups) +
                " must divide in_channels and out_channels");
  }
  if (o.dtype != DType::f32 && o.dtype != DType::f64) {
    throw Error(name() + ": dtype must be float32 or float64, got " +
                std::string(dtype_name(o.dtype)));
  }
  Tensor w = Tensor::empty({out_, in_ / o.groups, kernel_.h, kernel_.w}, o.dtype);
  Tensor b = o.bias ? Tensor::empty({out_}, o.dtype) : Tensor();
  init::linear_default_(w, b, gen);
  weight = Parameter(w);
  register_parameter("weight", weight);
  if (o.bias) {
    bias = Parameter(b);
    register_parameter("bias", bias);
  }
}

Var Conv2d::forward(const Var& x) {
  if (x.rank() != 4 || x.shape()[1] != in_) {
    throw Error(name() + ": expected input [N, " + std::to_string(in_) + ", H, W], got " +
                to_string(x.shape()));
  }
  return named_errors(*this, [&] {
    const Var w = bind_param(weight, x);
    const Var b = bias.value.defined() ? bind_param(bias, x) : Var();
    return conv2d(x, w, b, options_.stride, options_.padding, options_.dilation, options_.groups);
  });
}

std::string Conv2d::name() const {
  const Conv2dOptions& o = options_;
  std::string s = "Conv2d(" + std::to_string(in_) + ", " + std::to_string(out_) +
                  ", kernel_size=" + pair_text(kernel_.h, kernel_.w) +
                  ", stride=" + pair_text(o.stride.h, o.stride.w);
  if (o.padding.h != 0 || o.padding.w != 0) s += ", padding=" + pair_text(o.padding.h, o.padding.w);
  if (o.dilation.h != 1 || o.dilation.w != 1) {
    s += ", dilation=" + pair_text(o.dilation.h, o.dilation.w);
  }
  if (o.groups != 1) s += ", groups=" + std::to_string(o.groups);
  if (!o.bias) s += ", bias=False";
  return s + ")";
}

// ---- pooling --------------------------------------------------------------------------------

Var MaxPool2d::forward(const Var& x) {
  return named_errors(
      *this, [&] { return max_pool2d(x, kernel_, stride_, padding_, dilation_, ceil_mode_); });
}

std::string MaxPool2d::name() const {
  const Size2 s{stride_.h == 0 ? kernel_.h : stride_.h, stride_.w == 0 ? kernel_.w : stride_.w};
  return "MaxPool2d(kernel_size=" + pair_text(kernel_.h, kernel_.w) +
         ", stride=" + pair_text(s.h, s.w) + ", padding=" + pair_text(padding_.h, padding_.w) +
         ", dilation=" + pair_text(dilation_.h, dilation_.w) +
         (ceil_mode_ ? ", ceil_mode=True)" : ")");
}

Var AvgPool2d::forward(const Var& x) {
  return named_errors(
      *this, [&] { return avg_pool2d(x, kernel_, stride_, padding_, count_include_pad_); });
}

std::string AvgPool2d::name() const {
  const Size2 s{stride_.h == 0 ? kernel_.h : stride_.h, stride_.w == 0 ? kernel_.w : stride_.w};
  return "AvgPool2d(kernel_size=" + pair_text(kernel_.h, kernel_.w) +
         ", stride=" + pair_text(s.h, s.w) + ", padding=" + pair_text(padding_.h, padding_.w) +
         (count_include_pad_ ? "" : ", count_include_pad=False") + ")";
}

Var AdaptiveAvgPool2d::forward(const Var& x) {
  return named_errors(*this, [&] { return adaptive_avg_pool2d(x, output_); });
}

std::string AdaptiveAvgPool2d::name() const {
  return "AdaptiveAvgPool2d(output_size=" + pair_text(output_.h, output_.w) + ")";
}

// ---- Flatten --------------------------------------------------------------------------------

Var Flatten::forward(const Var& x) {
  const int64_t rank = x.rank();
  const int64_t s = start_ < 0 ? start_ + rank : start_;
  const int64_t e = end_ < 0 ? end_ + rank : end_;
  if (s < 0 || e >= rank || s > e) {
    throw Error(name() + ": dimensions out of range for input " + to_string(x.shape()));
  }
  Shape out;
  int64_t merged = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < s || d > e) {
      out.push_back(x.shape()[static_cast<int>(d)]);
    } else {
      merged *= x.shape()[static_cast<int>(d)];
      if (d == e) out.push_back(merged);
    }
  }
  return reshape(x, out);
}

std::string Flatten::name() const {
  return "Flatten(start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_) + ")";
}

}  // namespace affine::nn
