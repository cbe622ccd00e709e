// Layers: Linear and the parameter-free activations, as in PyTorch's torch.nn.
//
// Every layer is a plain class derived from nn::Module. forward(x) works on constants (inference:
// nothing is recorded) and on Vars of a recording tape (training: the layer's parameters join
// x's tape as leaves, and backward() accumulates into Parameter::grad).
//
// Layers are movable (so `Sequential{Linear(2, 100), Tanh()}` can take them by value); the
// moved-from layer must not be used again.
#pragma once

#include <cstdint>
#include <string>

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
  /// "Linear(in=2, out=100, bias=true)".
  std::string name() const override;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  bool has_bias() const { return bias.value.defined(); }

  Parameter weight;  ///< [out, in]
  Parameter bias;    ///< [out]; undefined when constructed with bias = false

 private:
  void init(Generator& gen, bool bias, DType dtype);
  int64_t in_;
  int64_t out_;
};

/// Elementwise tanh.
class AFFINE_API Tanh : public Module {
 public:
  Tanh() = default;
  Var forward(const Var& x) override;
  std::string name() const override { return "Tanh()"; }
};

/// Elementwise logistic sigmoid 1 / (1 + exp(-x)).
class AFFINE_API Sigmoid : public Module {
 public:
  Sigmoid() = default;
  Var forward(const Var& x) override;
  std::string name() const override { return "Sigmoid()"; }
};

/// Elementwise max(x, 0).
class AFFINE_API ReLU : public Module {
 public:
  ReLU() = default;
  Var forward(const Var& x) override;
  std::string name() const override { return "ReLU()"; }
};

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
