// nn::Module: the base of every layer and model. Plain classes, as in PyTorch's C++ frontend:
// a module owns its Parameters, buffers and child modules and lists them, in registration order,
// under dotted names ("0.weight", "2.bias", "1.running_mean").
//
// Writing a module: derive from Module, hold Parameters, buffer Tensors and child modules as data
// members, and register each in the constructor:
//
//   class Scale : public nn::Module {
//    public:
//     explicit Scale(int64_t n) : gain(Tensor::ones({n})) { register_parameter("gain", gain); }
//     Var forward(const Var& x) override { return x * bind_param(gain, x); }
//     std::string name() const override { return "Scale"; }
//     Parameter gain;
//   };
//
// Moving: registration records where each member lives inside the module, so the implicit move
// constructor of a derived class is correct (Module's move constructor re-targets the registered
// members to the new object) and a custom module can be moved into a Sequential. This is why
// register_parameter, register_buffer and register_module(name, Module&) must be given DATA
// MEMBERS of the module itself; a child module held on the heap (e.g. one of a run-time number of
// blocks) is handed over with register_module(name, std::unique_ptr<Module>) instead. A
// moved-from module must not be used again.
//
// Lifetimes (the rule): optimizers and tapes hold Parameter pointers. Build the optimizer after
// the model has reached its final place, and keep the model alive while the optimizer or a
// recorded graph is used. Breaking the rule is detected, not undefined: each Parameter carries a
// lifetime token (Parameter::lifetime) that expires when it is destroyed or moved from, so moving
// a module after the optimizer was built (e.g. into a Sequential), or destroying it, makes the
// optimizer's step()/zero_grad()/load_state() and the tape's backward() throw affine::Error
// naming the parameter, with nothing modified. A module held by unique_ptr (Sequential's layers)
// keeps its address when its owner moves, so moving a Sequential keeps optimizers valid.
//
// Exception guarantees: moves may allocate (they copy the registration lists) and are not
// noexcept; a move that throws leaves the source intact. register_* and Sequential::push_back are
// strong (a throw registers nothing). load_state_dict is strong. to(dtype) is basic (parameters
// converted before the throw keep the new dtype).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn {

/// An ordered list of named tensors (a module's state_dict, an optimizer's state, a file).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// What load_state_dict(state, strict = false) skipped (always empty after a strict load).
struct AFFINE_API LoadStateDictResult {
  std::vector<std::string> missing_keys;     ///< in the module, absent from the state
  std::vector<std::string> unexpected_keys;  ///< in the state, absent from the module
};

/// The parameter p as a Var usable with x: on x's tape (so backward() accumulates into p.grad)
/// when x is on a recording tape and p requires grad; otherwise a constant holding p's value
/// (inference, constant input, or inside a NoGradGuard), so nothing is recorded. This is how a
/// custom module's forward brings its Parameters into the computation.
AFFINE_API Var bind_param(Parameter& p, const Var& x);

class AFFINE_API Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module& operator=(Module&&) = delete;

  /// The module's function. x may be a constant (inference: nothing is recorded) or a Var on a
  /// tape (training: parameters join that tape).
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }

  /// A short description, e.g. "Linear(in=2, out=100, bias=true)".
  virtual std::string name() const = 0;

  /// Every parameter of this module and its children, in registration order.
  std::vector<Parameter*> parameters();
  /// The same, with dotted names ("0.weight"): own parameters first, then each child's.
  std::vector<std::pair<std::string, Parameter*>> named_parameters();
  /// Every buffer of this module and its children, with dotted names ("1.running_mean").
  std::vector<std::pair<std::string, Tensor*>> named_buffers();
  /// The buffers alone, in the order of named_buffers().
  std::vector<Tensor*> buffers();
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

  /// Parameters and buffers under dotted names, in PyTorch's state_dict order (each module's own
  /// parameters, then its own buffers, then its children's entries). The tensors share storage
  /// with the module, as PyTorch's state_dict does: clone() them for a snapshot.
  NamedTensors state_dict();
  /// Copies state (as state_dict() returns, or a checkpoint holds) into the module's parameters
  /// and buffers, in place (views and optimizers stay valid). Floating entries are converted to
  /// the module's dtype (a float32 state loads into a float64 model); int64 buffers need int64
  /// entries; shapes must match. strict: every name must match both ways. Not strict: missing and
  /// unexpected names are skipped and returned. Every problem is reported in one affine::Error
  /// ("load_state_dict: the state does not match the module (2 problems): ..."), and on error
  /// nothing changes.
  LoadStateDictResult load_state_dict(const NamedTensors& state, bool strict = true);
  /// Converts every parameter (value and grad) and floating buffer to dtype (float32 or float64);
  /// int64 buffers are kept, as torch.nn.Module.to(dtype). Parameters get new storage, so Vars
  /// and views of the old values keep the old values. Returns *this.
  Module& to(DType dtype);

 protected:
  /// Moves the registrations: entries that are data members are re-targeted to the new object's
  /// members, owned children move with their ownership. For derived classes' implicit move
  /// constructors.
  Module(Module&& other);

  /// Registers a parameter that is a data member of this module; returns it.
  Parameter& register_parameter(std::string name, Parameter& param);
  /// Registers a buffer: state saved with the module that training does not differentiate (e.g.
  /// BatchNorm's running_mean), a data member of this module; returns it.
  Tensor& register_buffer(std::string name, Tensor& buffer);
  /// Registers a child module that is a data member of this module; returns it.
  Module& register_module(std::string name, Module& child);
  /// Registers a child module this module takes ownership of (it keeps its heap address).
  /// Throws affine::Error for nullptr.
  Module& register_module(std::string name, std::unique_ptr<Module> child);

 private:
  void check_new_name(const std::string& name, const char* op) const;
  void collect_state(const std::string& prefix, NamedTensors& out);

  std::vector<std::pair<std::string, Parameter*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  std::vector<std::unique_ptr<Module>> owned_;  // children registered by unique_ptr
  bool training_ = true;
};

}  // namespace affine::nn
