// Var and Parameter: the values reverse-mode autodiff works on.
//
// A Var is a small handle: a value (a Tensor) plus, when it was recorded, its place on a Tape.
// A Var made from a plain Tensor is a constant on no tape; operations on constants only compute
// values, so inference needs no tape at all. A Parameter (value + grad) lives in a module, outside
// any tape; Tape::param() brings it onto a tape as a leaf whose gradient accumulates into
// Parameter::grad.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <memory>

#include "affine/tensor/export.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine {

class Tape;
namespace detail {
struct TapeHandle;
}

/// A trainable tensor and its accumulated gradient (same shape and dtype as the value).
/// Gradients accumulate across backward passes until zero_grad().
///
/// Identity: optimizers and Tape::param keep a Parameter* and, beside it, lifetime(), a token that
/// expires when this object is destroyed or moved from. They check it before using the pointer
/// and throw affine::Error instead of touching a dead object. A copy is a new parameter (sharing
/// the tensors' storage); assignment keeps this object's identity.
/// Exception guarantee: moves never throw; copies and lifetime() may throw std::bad_alloc.
class AFFINE_API Parameter {
 public:
  Parameter() = default;
  /// Takes value as the parameter's data; grad starts at zeros of the same shape and dtype.
  explicit Parameter(Tensor value, bool requires_grad = true);
  Parameter(const Parameter& other);
  /// Takes other's tensors; other's lifetime() token expires (holders of &other notice).
  Parameter(Parameter&& other) noexcept;
  Parameter& operator=(const Parameter& other);
  /// Takes other's tensors, keeps this identity; other's lifetime() token expires.
  Parameter& operator=(Parameter&& other) noexcept;
  ~Parameter() = default;

  Tensor value;
  Tensor grad;
  bool requires_grad = true;
  /// Sets grad to zeros.
  void zero_grad();
  /// A token that expires when this object is destroyed or moved from (made on first call).
  std::weak_ptr<const void> lifetime();

 private:
  std::shared_ptr<const void> alive_;
};

/// A value in a computation: a constant, or a node recorded on a Tape.
class AFFINE_API Var {
 public:
  /// An undefined Var.
  Var() = default;
  /// A constant holding value, on no tape. Implicit, so Tensors can be passed where Vars go.
  Var(Tensor value);  // NOLINT(google-explicit-constructor)

  /// The value. Throws affine::Error if the Var came from a tape that was cleared since
  /// ("Var: handle from a cleared tape") or destroyed since ("Var: handle from a destroyed
  /// tape"): a Var may outlive its Tape, but every use of it then throws.
  const Tensor& value() const;
  /// The gradient backward() computed for this Var: for a Tape::leaf, its gradient (zeros when
  /// no gradient reached it); for a Tape::param leaf, the Parameter's accumulated grad; for an
  /// intermediate value, its gradient only if retain_grad() was called before backward (as in
  /// PyTorch, intermediate gradients are freed during backward to keep memory low). Throws
  /// affine::Error for a constant, a Var that needs no gradient, before backward has run, or for
  /// a stale handle. The tensor may be a strided view (e.g. broadcast from a sum).
  const Tensor& grad() const;
  /// Keeps this intermediate value's gradient after backward so grad() can return it.
  void retain_grad() const;
  /// True when gradients flow to this Var (a leaf that requires grad, or computed from one).
  bool requires_grad() const;
  /// The tape it is recorded on, or nullptr for a constant. Throws affine::Error when that tape
  /// has been destroyed.
  Tape* tape() const;
  bool defined() const { return value_.defined(); }
  const Shape& shape() const { return value_.shape(); }
  DType dtype() const { return value_.dtype(); }
  int rank() const { return value_.rank(); }
  /// The value of a one-element Var as a double (Tensor::item; throws affine::Error otherwise).
  double item() const;
  /// A constant with the same value: gradients stop here.
  Var detach() const;
  /// Shorthand for tape()->backward(*this): requires a scalar Var on a tape.
  void backward() const;
  /// Shorthand for tape()->backward(*this, seed): seed has this Var's shape.
  void backward(const Tensor& seed) const;

 private:
  friend class Tape;
  friend struct VarAccess;
  Tensor value_;
  std::shared_ptr<detail::TapeHandle> tape_;  // null for a constant
  uint32_t index_ = 0;
  uint32_t generation_ = 0;
};

/// Prints the value as a Tensor prints, adding ", requires_grad=true" when gradients flow to it:
/// "tensor([1., 2.], dtype=float32, shape=[2], requires_grad=true)".
AFFINE_API std::ostream& operator<<(std::ostream& os, const Var& v);
/// The text operator<< prints.
AFFINE_API std::string to_string(const Var& v);

}  // namespace affine
