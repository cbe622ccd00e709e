#include "affine/nn/module.hpp"

#include <string>

#include "affine/tensor/error.hpp"

namespace affine::nn {

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

Parameter& Module::register_parameter(std::string name, Parameter& param) {
  if (name.empty() || name.find('.') != std::string::npos) {
    throw Error("Module::register_parameter: invalid name '" + name +
                "' (must be non-empty and contain no '.')");
  }
  for (const auto& [existing, p] : params_) {
    if (existing == name) throw Error("Module::register_parameter: '" + name + "' already exists");
  }
  for (const auto& [existing, c] : children_) {
    if (existing == name) {
      throw Error("Module::register_parameter: '" + name + "' is already a child module");
    }
  }
  params_.emplace_back(std::move(name), &param);
  return param;
}

Module& Module::register_module(std::string name, Module& child) {
  if (name.empty() || name.find('.') != std::string::npos) {
    throw Error("Module::register_module: invalid name '" + name +
                "' (must be non-empty and contain no '.')");
  }
  if (&child == this) throw Error("Module::register_module: a module cannot be its own child");
  for (const auto& [existing, c] : children_) {
    if (existing == name) throw Error("Module::register_module: '" + name + "' already exists");
  }
  for (const auto& [existing, p] : params_) {
    if (existing == name) {
      throw Error("Module::register_module: '" + name + "' is already a parameter");
    }
  }
  children_.emplace_back(std::move(name), &child);
  return child;
}

}  // namespace affine::nn
