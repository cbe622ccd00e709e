// nn::Module: the base of every layer and model. Plain classes, as in PyTorch's C++ frontend:
// a module owns its Parameters and child modules and lists them, in registration order, under
// dotted names ("0.weight", "2.bias").
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "affine/autograd/var.hpp"

namespace affine::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The module's function. x may be a constant (inference: nothing is recorded) or a Var on a
  /// tape (training: parameters join that tape).
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }

  /// A short description, e.g. "Linear(in=2, out=100, bias=true)".
  virtual std::string name() const = 0;

  /// Every parameter of this module and its children, in registration order.
  std::vector<Parameter*> parameters();
  /// The same, with dotted names ("0.weight").
  std::vector<std::pair<std::string, Parameter*>> named_parameters();
  /// Direct children with their names.
  const std::vector<std::pair<std::string, Module*>>& children() const { return children_; }
  /// Sets every parameter's gradient to zero.
  void zero_grad();
  /// Training mode (the default) or evaluation mode; propagates to children.
  void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Total number of parameter elements.
  int64_t parameter_count();

 protected:
  /// Registers a parameter owned by this module (it must outlive the module's use).
  Parameter& register_parameter(std::string name, Parameter& param);
  /// Registers a child module owned by this module.
  Module& register_module(std::string name, Module& child);

 private:
  std::vector<std::pair<std::string, Parameter*>> params_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace affine::nn
