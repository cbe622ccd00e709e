// Var and Parameter.
#include "affine/autograd/var.hpp"

#include <ostream>
#include <string>
#include <utility>

#include "affine/autograd/tape.hpp"
#include "tape_impl.hpp"

namespace affine {

Parameter::Parameter(Tensor v, bool requires_grad_)
    : value(std::move(v)), requires_grad(requires_grad_) {
  if (value.defined()) grad = Tensor::zeros(value.shape(), value.dtype());
}

Parameter::Parameter(const Parameter& other)
    : value(other.value), grad(other.grad), requires_grad(other.requires_grad) {}

Parameter::Parameter(Parameter&& other) noexcept
    : value(std::move(other.value)),
      grad(std::move(other.grad)),
      requires_grad(other.requires_grad) {
  other.alive_.reset();  // whoever holds &other learns it no longer holds the tensors
}

Parameter& Parameter::operator=(const Parameter& other) {
  value = other.value;
  grad = other.grad;
  requires_grad = other.requires_grad;
  return *this;
}

Parameter& Parameter::operator=(Parameter&& other) noexcept {
  if (this == &other) return *this;
  value = std::move(other.value);
  grad = std::move(other.grad);
  requires_grad = other.requires_grad;
  other.alive_.reset();
  return *this;
}

std::weak_ptr<const void> Parameter::lifetime() {
  if (!alive_) alive_ = std::make_shared<const char>('\0');
  return alive_;
}

void Parameter::zero_grad() {
  if (!value.defined()) return;
  if (grad.defined() && grad.shape() == value.shape() && grad.dtype() == value.dtype()) {
    grad.fill_(0);
  } else {
    grad = Tensor::zeros(value.shape(), value.dtype());
  }
}

Var::Var(Tensor value) : value_(std::move(value)) {}

double Var::item() const { return value().item(); }

std::string to_string(const Var& v) {
  if (!v.defined()) return to_string(Tensor());
  std::string s = to_string(v.value());
  if (v.requires_grad()) s.insert(s.size() - 1, ", requires_grad=true");
  return s;
}

std::ostream& operator<<(std::ostream& os, const Var& v) { return os << to_string(v); }
Var VarAccess::make(Tensor value, Tape* tape, uint32_t index, uint32_t generation) {
  Var v;
  v.value_ = std::move(value);
  v.tape_ = TapeAccess::impl(*tape).handle;
  v.index_ = index;
  v.generation_ = generation;
  return v;
}

Tape* Var::tape() const {
  if (!tape_) return nullptr;
  detail::check_alive("Var::tape", *this);
  return tape_->tape;
}

const Tensor& Var::value() const {
  detail::check_fresh("Var::value", *this);
  return value_;
}

bool Var::requires_grad() const {
  if (!tape_) return false;
  detail::check_fresh("Var::requires_grad", *this);
  return TapeAccess::impl(*tape_->tape).nodes[index_].requires_grad;
}

void Var::retain_grad() const {
  if (!tape_) return;
  detail::check_fresh("Var::retain_grad", *this);
  TapeAccess::impl(*tape_->tape).nodes[index_].retain_grad = true;
}

const Tensor& Var::grad() const {
  if (!defined()) throw Error("Var::grad: the Var is undefined");
  if (!tape_) {
    throw Error(
        "Var::grad: a constant (a Var on no tape) has no gradient; make it a Tape::leaf "
        "or Tape::param");
  }
  detail::check_fresh("Var::grad", *this);
  detail::TapeImpl& impl = TapeAccess::impl(*tape_->tape);
  detail::Node& n = impl.nodes[index_];
  if (!n.requires_grad) throw Error("Var::grad: this Var does not require grad");
  if (n.param != nullptr) return n.param->grad;
  if (!impl.backpropagated) {
    throw Error("Var::grad: backward() has not run on this Var's graph yet");
  }
  if (n.backward != nullptr && !n.retain_grad) {
    throw Error(
        "Var::grad: the gradient of an intermediate value is freed during backward(); "
        "call retain_grad() on it before backward()");
  }
  if (!n.grad.defined()) n.grad = Tensor::zeros(n.value.shape(), n.value.dtype());
  return n.grad;
}

Var Var::detach() const { return Var(value()); }

void Var::backward() const {
  if (!tape_) {
    throw Error(
        "backward: the root is a constant (on no tape); record it on a Tape from "
        "Tape::leaf or Tape::param values");
  }
  detail::check_alive("backward", *this);
  tape_->tape->backward(*this);
}

void Var::backward(const Tensor& seed) const {
  if (!tape_) {
    throw Error(
        "backward: the root is a constant (on no tape); record it on a Tape from "
        "Tape::leaf or Tape::param values");
  }
  detail::check_alive("backward", *this);
  tape_->tape->backward(*this, seed);
}

}  // namespace affine
