// Layers: Linear and the parameter-free activations, as in PyTorch's torch.nn.
//
// Every layer is a plain class derived from nn::Module. forward(x) works on constants (inference:
// nothing is recorded) and on Vars of a recording tape (training: the layer's parameters join
// x's tape as leaves, and backward() accumulates into Parameter::grad).
//
// Layers are movable (so `Sequential{Linear(2, 100), Tanh()}` can take them by value); the
// moved-from layer must not be used again.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "affine/autograd/ops.hpp"
#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"

namespace affine::nn {

/// y = x W^T + b with W [out, in] and b [out], as torch.nn.Linear.
///
/// Initialisation is PyTorch's default: W and b drawn from U(-1/sqrt(in), 1/sqrt(in)), W first
/// (row-major), then b. Without a Generator the draws come from affine::default_generator(), so
/// layers differ from each other and `manual_seed(n)` before building a model makes it
/// reproducible; or pass a Generator to control the draws:
///   Generator gen(42);
///   Sequential net{Linear(2, 100, gen), Tanh(), Linear(100, 2, gen)};
class AFFINE_API Linear : public Module {
 public:
  /// PyTorch-style init drawn from default_generator(), float32.
  Linear(int64_t in, int64_t out, bool bias = true);
  /// PyTorch-style init drawn from gen, in the given dtype (float32 or float64).
  Linear(int64_t in, int64_t out, Generator& gen, bool bias = true, DType dtype = DType::f32);
  Linear(Linear&& other) = default;

  /// x [*, in] -> [*, out]. Throws affine::Error for any other last dimension:
  /// "Linear(in=4, out=2): expected input [*, 4], got [8, 3]".
  Var forward(const Var& x) override;
  /// activation(forward(x)) recorded as one op (affine::linear with an activation): the
  /// pre-activation is never stored. Sequential::forward calls this for a Linear followed by
  /// Tanh, Sigmoid or ReLU. Same checks and errors as forward(x).
  Var forward(const Var& x, LinearActivation activation);
  /// activation(second(tanh(first(x)))) recorded as one op (linear_tanh_linear): the hidden
  /// layer and its gradient are never stored separately. Sequential::forward calls this for
  /// Linear, Tanh, Linear (and a Tanh, Sigmoid or ReLU after it). Same checks and errors as
  /// first.forward(x), then second's on [*, first.out].
  static Var forward_tanh_linear(Linear& first, Linear& second, const Var& x,
                                 LinearActivation activation = LinearActivation::none);
  /// "Linear(in=2, out=100, bias=true)".
  std::string name() const override;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  bool has_bias() const { return bias.value.defined(); }

  Parameter weight;  ///< [out, in]
  Parameter bias;    ///< [out]; undefined when constructed with bias = false

 private:
  void init(Generator& gen, bool bias, DType dtype);
  /// Throws the forward's error unless x is [*, in].
  void check_input(const Shape& x) const;
  int64_t in_;
  int64_t out_;
};

/// An elementwise activation as a module: forward(x) = Op::forward(x), name() "<Op::name>()".
/// Each module is one AFFINE_NN_ACTIVATION line below, over an op of the unary table
/// (affine/tensor/unary_ops.hpp) or any other Var -> Var function.
template <class Op>
class AFFINE_API Activation : public Module {
 public:
  Activation() = default;
  Var forward(const Var& x) override { return Op::forward(x); }
  std::string name() const override { return std::string(Op::name) + "()"; }
};

/// An activation with scalar parameters (a slope; beta and threshold): forward(x) =
/// Op::forward(x, p) with p the parameters in the order of Op::params (their names), each
/// defaulting to its entry of Op::defaults; name() "<Op::name>(<param>=<p>, ...)".
template <class Op>
class AFFINE_API ParametricActivation : public Module {
 public:
  static constexpr size_t kParams = Op::params.size();
  /// The first sizeof...(p) parameters; the others keep their defaults.
  template <std::convertible_to<double>... P>
  requires(sizeof...(P) <= kParams) explicit ParametricActivation(P... p) : p_(Op::defaults) {
    size_t i = 0;
    ((p_[i++] = static_cast<double>(p)), ...);
  }
  Var forward(const Var& x) override { return Op::forward(x, p_); }
  std::string name() const override {
    std::ostringstream os;
    os << Op::name << "(";
    for (size_t i = 0; i < kParams; ++i) os << (i ? ", " : "") << Op::params[i] << "=" << p_[i];
    os << ")";
    return os.str();
  }
  /// Parameter i (in Op::params order).
  double param(size_t i = 0) const { return p_.at(i); }

 private:
  std::array<double, kParams> p_;
};

/// AFFINE_NN_ACTIVATION(Tanh, tanh) defines nn::Tanh, the module of affine::tanh(const Var&).
#define AFFINE_NN_ACTIVATION(Name, fn)                           \
  struct Name##Op {                                              \
    static constexpr const char* name = #Name;                   \
    static Var forward(const Var& x) { return ::affine::fn(x); } \
  };                                                             \
  using Name = Activation<Name##Op>;

/// AFFINE_NN_ACTIVATION_1(LeakyReLU, leaky_relu, negative_slope, 0.01) defines nn::LeakyReLU,
/// the module of affine::leaky_relu(const Var&, double negative_slope), default 0.01.
#define AFFINE_NN_ACTIVATION_1(Name, fn, param_name, default_param)     \
  struct Name##Op {                                                     \
    static constexpr const char* name = #Name;                          \
    static constexpr std::array<const char*, 1> params = {#param_name}; \
    static constexpr std::array<double, 1> defaults = {default_param};  \
    static Var forward(const Var& x, const std::array<double, 1>& p) {  \
      return ::affine::fn(x, p[0]);                                     \
    }                                                                   \
  };                                                                    \
  using Name = ParametricActivation<Name##Op>;

/// AFFINE_NN_ACTIVATION_2(Softplus, softplus, beta, 1, threshold, 20) defines nn::Softplus, the
/// module of affine::softplus(const Var&, double beta, double threshold).
#define AFFINE_NN_ACTIVATION_2(Name, fn, param1, default1, param2, default2) \
  struct Name##Op {                                                          \
    static constexpr const char* name = #Name;                               \
    static constexpr std::array<const char*, 2> params = {#param1, #param2}; \
    static constexpr std::array<double, 2> defaults = {default1, default2};  \
    static Var forward(const Var& x, const std::array<double, 2>& p) {       \
      return ::affine::fn(x, p[0], p[1]);                                    \
    }                                                                        \
  };                                                                         \
  using Name = ParametricActivation<Name##Op>;

AFFINE_NN_ACTIVATION(Tanh, tanh)        ///< elementwise tanh
AFFINE_NN_ACTIVATION(Sigmoid, sigmoid)  ///< elementwise logistic sigmoid 1 / (1 + exp(-x))
AFFINE_NN_ACTIVATION(ReLU, relu)        ///< elementwise max(x, 0)

/// Softmax along axis (negative counts from the end); PyTorch's nn.Softmax(dim).
class AFFINE_API Softmax : public Module {
 public:
  explicit Softmax(int64_t axis = -1) : axis_(axis) {}
  Var forward(const Var& x) override;
  std::string name() const override;
  int64_t axis() const { return axis_; }

 private:
  int64_t axis_;
};

/// log(softmax(x)) along axis, computed stably; PyTorch's nn.LogSoftmax(dim).
class AFFINE_API LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t axis = -1) : axis_(axis) {}
  Var forward(const Var& x) override;
  std::string name() const override;
  int64_t axis() const { return axis_; }

 private:
  int64_t axis_;
};

}  // namespace affine::nn
