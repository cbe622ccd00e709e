#include "affine/nn/norm.hpp"

#include <cstdio>
#include <string>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

using detail::number_text;

// ---- LayerNorm ------------------------------------------------------------------------------

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, DType dtype)
    : shape_(normalized_shape), eps_(eps) {
  bool ok = normalized_shape.size() >= 1 && eps >= 0;
  for (int64_t d : normalized_shape) ok = ok && d >= 1;
  if (!ok) {
    throw Error(name() + ": normalized_shape must be non-empty with positive sizes and eps >= 0");
  }
  if (elementwise_affine) {
    weight = Parameter(Tensor::ones(normalized_shape, dtype));
    bias = Parameter(Tensor::zeros(normalized_shape, dtype));
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
}

Var LayerNorm::forward(const Var& x) {
  return detail::named_errors(*this, [&] {
    const Var w = weight.value.defined() ? bind_param(weight, x) : Var();
    const Var b = bias.value.defined() ? bind_param(bias, x) : Var();
    return layer_norm(x, shape_, w, b, eps_);
  });
}

std::string LayerNorm::name() const {
  std::string dims = "(";
  for (int i = 0; i < shape_.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape_[i]);
  dims += shape_.size() == 1 ? ",)" : ")";
  return "LayerNorm(" + dims + ", eps=" + number_text(eps_) +
         ", elementwise_affine=" + (weight.value.defined() ? "True" : "False") + ")";
}

// ---- BatchNorm ------------------------------------------------------------------------------

BatchNormBase::BatchNormBase(const char* kind, int64_t num_features,
                             const BatchNormOptions& options, int min_rank, int max_rank)
    : kind_(kind),
      features_(num_features),
      options_(options),
      min_rank_(min_rank),
      max_rank_(max_rank) {
  if (num_features < 1 || !(options.eps >= 0) ||
      (options.momentum && !(*options.momentum >= 0 && *options.momentum <= 1))) {
    throw Error(name() + ": num_features must be positive, eps >= 0 and momentum in [0, 1]");
  }
  if (options.dtype != DType::f32 && options.dtype != DType::f64) {
    throw Error(name() + ": dtype must be float32 or float64");
  }
  if (options.affine) {
    weight = Parameter(Tensor::ones({num_features}, options.dtype));
    bias = Parameter(Tensor::zeros({num_features}, options.dtype));
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
  if (options.track_running_stats) {
    running_mean = Tensor::zeros({num_features}, options.dtype);
    running_var = Tensor::ones({num_features}, options.dtype);
    num_batches_tracked = Tensor::zeros({}, DType::i64);
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
    register_buffer("num_batches_tracked", num_batches_tracked);
  }
}

Var BatchNormBase::forward(const Var& x) {
  if (x.rank() < min_rank_ || x.rank() > max_rank_ || x.shape()[1] != features_) {
    const std::string f = std::to_string(features_);
    const std::string expected =
        max_rank_ == 4 ? "[N, " + f + ", H, W]" : "[N, " + f + "] or [N, " + f + ", L]";
    throw Error(name() + ": expected input " + expected + ", got " + to_string(x.shape()));
  }
  return detail::named_errors(*this, [&] {
    const Var w = weight.value.defined() ? bind_param(weight, x) : Var();
    const Var b = bias.value.defined() ? bind_param(bias, x) : Var();
    if (!options_.track_running_stats) {
      return batch_norm(x, Tensor(), Tensor(), w, b, /*training=*/true, 0, options_.eps);
    }
    const bool training = is_training();
    int64_t& batches = num_batches_tracked.data<int64_t>()[0];
    // Without a momentum, the running statistics average all batches: this one weighs 1 / n.
    const double momentum =
        options_.momentum ? *options_.momentum : 1.0 / static_cast<double>(batches + 1);
    Var y = batch_norm(x, running_mean, running_var, w, b, training, momentum, options_.eps);
    if (training) ++batches;
    return y;
  });
}

std::string BatchNormBase::name() const {
  return std::string(kind_) + "(" + std::to_string(features_) +
         ", eps=" + number_text(options_.eps) +
         ", momentum=" + (options_.momentum ? number_text(*options_.momentum) : "None") +
         ", affine=" + (options_.affine ? "True" : "False") +
         ", track_running_stats=" + (options_.track_running_stats ? "True" : "False") + ")";
}

}  // namespace affine::nn
