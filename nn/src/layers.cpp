#include "affine/nn/layers.hpp"

#include <string>

#include "affine/autograd/ops.hpp"
#include "affine/nn/init.hpp"
#include "affine/tensor/error.hpp"

namespace affine::nn {

// ---- Linear ---------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool bias) : in_(in), out_(out) {
  init(default_generator(), bias, DType::f32);
}

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool bias, DType dtype)
    : in_(in), out_(out) {
  init(gen, bias, dtype);
}

void Linear::init(Generator& gen, bool with_bias, DType dtype) {
  if (in_ < 1 || out_ < 1) {
    throw Error("Linear(in=" + std::to_string(in_) + ", out=" + std::to_string(out_) +
                "): in and out must be positive");
  }
  if (dtype != DType::f32 && dtype != DType::f64) {
    throw Error("Linear(in=" + std::to_string(in_) + ", out=" + std::to_string(out_) +
                "): dtype must be float32 or float64, got " + std::string(dtype_name(dtype)));
  }
  Tensor w = Tensor::empty({out_, in_}, dtype);
  Tensor b = with_bias ? Tensor::empty({out_}, dtype) : Tensor();
  init::linear_default_(w, b, gen);
  weight = Parameter(w);
  register_parameter("weight", weight);
  if (with_bias) {
    bias = Parameter(b);
    register_parameter("bias", bias);
  }
}

Var Linear::forward(const Var& x) { return forward(x, LinearActivation::none); }

void Linear::check_input(const Shape& x) const {
  if (x.size() < 1 || x.back() != in_) {
    throw Error("Linear(in=" + std::to_string(in_) + ", out=" + std::to_string(out_) +
                "): expected input [*, " + std::to_string(in_) + "], got " + to_string(x));
  }
}

Var Linear::forward(const Var& x, LinearActivation activation) {
  check_input(x.shape());
  const Var w = bind_param(weight, x);
  const Var b = has_bias() ? bind_param(bias, x) : Var();
  if (x.rank() == 2) return linear(x, w, b, activation);
  // Any leading dimensions: flatten them into rows, as torch.nn.Linear accepts [*, in].
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_;
  return reshape(linear(reshape(x, {-1, in_}), w, b, activation), out_shape);
}

Var Linear::forward_tanh_linear(Linear& first, Linear& second, const Var& x,
                                LinearActivation activation) {
  first.check_input(x.shape());
  Shape hidden = x.shape();
  hidden[hidden.size() - 1] = first.out_;
  second.check_input(hidden);
  const Var w1 = bind_param(first.weight, x);
  const Var b1 = first.has_bias() ? bind_param(first.bias, x) : Var();
  const Var w2 = bind_param(second.weight, x);
  const Var b2 = second.has_bias() ? bind_param(second.bias, x) : Var();
  return linear_tanh_linear(x, w1, b1, w2, b2, activation);  // leading dimensions: kept
}

std::string Linear::name() const {
  return "Linear(in=" + std::to_string(in_) + ", out=" + std::to_string(out_) +
         ", bias=" + (has_bias() ? "true" : "false") + ")";
}

// ---- activations ----------------------------------------------------------------------------

Var Softmax::forward(const Var& x) { return softmax(x, axis_); }
Var LogSoftmax::forward(const Var& x) { return log_softmax(x, axis_); }
std::string Softmax::name() const { return "Softmax(axis=" + std::to_string(axis_) + ")"; }
std::string LogSoftmax::name() const { return "LogSoftmax(axis=" + std::to_string(axis_) + ")"; }

}  // namespace affine::nn
