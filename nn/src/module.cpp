#include "affine/nn/module.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "affine/autograd/tape.hpp"
#include "affine/tensor/error.hpp"
#include "state_dict_load.hpp"

namespace affine::nn {

namespace {

// The address in `to` of the member that lives at p in `from` (same offset). Integer arithmetic,
// so a member before the Module subobject (negative offset) is handled too.
template <class T>
T* rebase(T* p, const Module* from, const Module* to) {
  const auto offset = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(from);
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(to) + offset);
}

}  // namespace

Var bind_param(Parameter& p, const Var& x) {
  Tape* tape = x.tape();
  if (tape != nullptr && tape->recording() && p.requires_grad) return tape->param(p);
  return Var(p.value);
}

Module::Module(Module&& other)
    : params_(other.params_),
      buffers_(other.buffers_),
      children_(other.children_),
      owned_(std::move(other.owned_)),
      training_(other.training_) {
  for (auto& [name, p] : params_) p = rebase(p, &other, this);
  for (auto& [name, b] : buffers_) b = rebase(b, &other, this);
  for (auto& [name, c] : children_) {
    const bool owned =
        std::any_of(owned_.begin(), owned_.end(),
                    [c = c](const std::unique_ptr<Module>& o) { return o.get() == c; });
    if (!owned) c = rebase(c, &other, this);
  }
  // The moved-from module lists nothing, so it cannot reach the new object's children.
  other.params_.clear();
  other.buffers_.clear();
  other.children_.clear();
}

std::vector<std::pair<std::string, Parameter*>> Module::named_parameters() {
  // Own parameters before children's, recursively, as torch.nn.Module.named_parameters().
  std::vector<std::pair<std::string, Parameter*>> out(params_.begin(), params_.end());
  for (const auto& [child_name, child] : children_) {
    for (auto& [name, p] : child->named_parameters()) {
      out.emplace_back(child_name + "." + name, p);
    }
  }
  return out;
}

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor*>> Module::named_buffers() {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (const auto& [name, b] : buffers_) {
    if (b->defined()) out.emplace_back(name, b);
  }
  for (const auto& [child_name, child] : children_) {
    for (auto& [name, b] : child->named_buffers()) out.emplace_back(child_name + "." + name, b);
  }
  return out;
}

std::vector<Tensor*> Module::buffers() {
  std::vector<Tensor*> out;
  for (auto& [name, b] : named_buffers()) out.push_back(b);
  return out;
}

void Module::zero_grad() {
  for (Parameter* p : parameters()) p->zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

int64_t Module::parameter_count() {
  int64_t n = 0;
  for (Parameter* p : parameters()) n += p->value.numel();
  return n;
}

void Module::collect_state(const std::string& prefix, NamedTensors& out) {
  // PyTorch's order: own parameters, own buffers, then each child's (Module._save_to_state_dict).
  for (const auto& [name, p] : params_) {
    if (p->value.defined()) out.emplace_back(prefix + name, p->value);
  }
  for (const auto& [name, b] : buffers_) {
    if (b->defined()) out.emplace_back(prefix + name, *b);
  }
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

NamedTensors Module::state_dict() {
  NamedTensors out;
  collect_state("", out);
  return out;
}

LoadStateDictResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  const detail::StateDictLoad plan =
      detail::plan_state_dict_load(state_dict(), state, strict, "state");
  if (!plan.problems.empty()) {
    throw Error(detail::state_dict_problems_message(
        "load_state_dict: the state does not match the module", "load_state_dict", plan.problems));
  }
  detail::apply_state_dict_load(plan);
  return plan.skipped;
}

Module& Module::to(DType dtype) {
  if (dtype != DType::f32 && dtype != DType::f64) {
    throw Error("Module::to: dtype must be float32 or float64, got " +
                std::string(dtype_name(dtype)));
  }
  for (Parameter* p : parameters()) {
    if (!p->value.defined()) continue;
    p->value = p->value.to(dtype);
    p->grad = p->grad.defined() ? p->grad.to(dtype) : Tensor::zeros(p->value.shape(), dtype);
  }
  for (Tensor* b : buffers()) {
    if (b->dtype() == DType::f32 || b->dtype() == DType::f64) *b = b->to(dtype);
  }
  return *this;
}

void Module::check_new_name(const std::string& name, const char* op) const {
  if (name.empty() || name.find('.') != std::string::npos) {
    throw Error(std::string(op) + ": invalid name '" + name +
                "' (must be non-empty and contain no '.')");
  }
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
  };
  const char* kind = taken(params_)     ? "a parameter"
                     : taken(buffers_)  ? "a buffer"
                     : taken(children_) ? "a child module"
                                        : nullptr;
  if (kind != nullptr) throw Error(std::string(op) + ": '" + name + "' is already " + kind);
}

Parameter& Module::register_parameter(std::string name, Parameter& param) {
  check_new_name(name, "Module::register_parameter");
  params_.emplace_back(std::move(name), &param);
  return param;
}

Tensor& Module::register_buffer(std::string name, Tensor& buffer) {
  check_new_name(name, "Module::register_buffer");
  buffers_.emplace_back(std::move(name), &buffer);
  return buffer;
}

Module& Module::register_module(std::string name, Module& child) {
  check_new_name(name, "Module::register_module");
  if (&child == this) throw Error("Module::register_module: a module cannot be its own child");
  children_.emplace_back(std::move(name), &child);
  return child;
}

Module& Module::register_module(std::string name, std::unique_ptr<Module> child) {
  if (!child) throw Error("Module::register_module: '" + name + "' is a null module");
  check_new_name(name, "Module::register_module");
  // Reserve both lists first, so nothing can throw between taking ownership and listing it.
  children_.reserve(children_.size() + 1);
  owned_.reserve(owned_.size() + 1);
  Module& ref = *child;
  owned_.push_back(std::move(child));
  children_.emplace_back(std::move(name), &ref);
  return ref;
}

}  // namespace affine::nn
