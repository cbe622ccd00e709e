#include "affine/nn/sequential.hpp"

#include <string>
#include <typeinfo>

#include "affine/nn/layers.hpp"
#include "affine/tensor/error.hpp"

namespace affine::nn {

Sequential::Sequential(std::initializer_list<Item> modules) {
  for (const Item& item : modules) push_back(std::move(item.module_));
}

Module& Sequential::push_back(std::unique_ptr<Module> module) {
  if (!module) throw Error("Sequential::push_back: null module");
  layers_.reserve(layers_.size() + 1);  // so nothing throws once the module is registered
  Module& ref = register_module(std::to_string(layers_.size()), std::move(module));
  layers_.push_back(&ref);
  return ref;
}

size_t Sequential::checked_index(int64_t i, const char* op) const {
  const auto n = static_cast<int64_t>(layers_.size());
  const int64_t j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) {
    throw Error(std::string(op) + ": index " + std::to_string(i) + " is out of range for " +
                std::to_string(n) + " layers");
  }
  return static_cast<size_t>(j);
}

namespace {

// The activation a Linear followed by `next` can apply in its own pass (none: not fusable). Only
// the exact module types: a subclass may have its own forward.
LinearActivation fusable_activation(const Module& next) {
  if (typeid(next) == typeid(Tanh)) return LinearActivation::tanh;
  if (typeid(next) == typeid(Sigmoid)) return LinearActivation::sigmoid;
  if (typeid(next) == typeid(ReLU)) return LinearActivation::relu;
  return LinearActivation::none;
}

}  // namespace

// Runs of layers that are one op, so their intermediate results are never stored (the same
// values either way): Linear, Tanh, Linear (and a Tanh, Sigmoid or ReLU after it) is
// linear_tanh_linear; a Linear followed by Tanh, Sigmoid or ReLU is
// Linear::forward(x, activation). forward_to and forward_all return every
// layer's output, so they run the layers one by one.
Var Sequential::forward(const Var& x) {
  Var h = x;
  const size_t count = layers_.size();
  auto linear_at = [&](size_t i) -> Linear* {
    if (i >= count) return nullptr;
    Module& m = *layers_[i];
    return typeid(m) == typeid(Linear) ? static_cast<Linear*>(&m) : nullptr;
  };
  for (size_t i = 0; i < count; ++i) {
    Linear* first = linear_at(i);
    if (first == nullptr || i + 1 == count) {
      h = layers_[i]->forward(h);
      continue;
    }
    const LinearActivation act = fusable_activation(*layers_[i + 1]);
    Linear* second = act == LinearActivation::tanh ? linear_at(i + 2) : nullptr;
    if (second != nullptr) {
      const LinearActivation after =
          i + 3 < count ? fusable_activation(*layers_[i + 3]) : LinearActivation::none;
      h = Linear::forward_tanh_linear(*first, *second, h, after);
      i += after == LinearActivation::none ? 2 : 3;
    } else if (act != LinearActivation::none) {
      h = first->forward(h, act);
      ++i;
    } else {
      h = first->forward(h);
    }
  }
  return h;
}

Var Sequential::forward_to(const Var& x, int64_t k) {
  const size_t last = checked_index(k, "Sequential::forward_to");
  Var h = x;
  for (size_t i = 0; i <= last; ++i) h = layers_[i]->forward(h);
  return h;
}

std::vector<Var> Sequential::forward_all(const Var& x) {
  std::vector<Var> outs;
  outs.reserve(layers_.size());
  Var h = x;
  for (auto& layer : layers_) {
    h = layer->forward(h);
    outs.push_back(h);
  }
  return outs;
}

Module& Sequential::operator[](int64_t i) { return *layers_[checked_index(i, "Sequential[]")]; }

const Module& Sequential::operator[](int64_t i) const {
  return *layers_[checked_index(i, "Sequential[]")];
}

void Sequential::throw_wrong_type(int64_t i) const {
  throw Error("Sequential::at: layer " + std::to_string(i) + " is " + (*this)[i].name() +
              ", not the requested type");
}

std::string Sequential::name() const {
  std::string s = "Sequential(";
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::string child = layers_[i]->name();
    // Indent nested modules' lines so the tree reads as PyTorch prints it.
    for (size_t pos = child.find('\n'); pos != std::string::npos; pos = child.find('\n', pos + 1)) {
      child.insert(pos + 1, "  ");
    }
    s += "\n  (" + std::to_string(i) + "): " + child;
  }
  s += layers_.empty() ? ")" : "\n)";
  return s;
}

}  // namespace affine::nn
