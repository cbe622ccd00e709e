// Internal: helpers shared by the layers of nn/src.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include "affine/autograd/tape.hpp"
#include "affine/autograd/var.hpp"
#include "affine/nn/module.hpp"
#include "affine/tensor/error.hpp"

namespace affine::nn::detail {

/// Runs the layer's computation f(); an affine::Error from the op inside is rethrown with the
/// layer's printed name in front, so the user sees which layer of a model failed:
/// "MaxPool2d(kernel_size=(4, 4), ...): max_pool2d: kernel 4x4 is larger than ...".
template <class F>
Var named_errors(const Module& layer, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const Error& e) {
    throw Error(layer.name() + ": " + e.what());
  }
}

/// A number as PyTorch prints it in a module's repr ("1e-05", "0.1").
inline std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// "(3, 3)", as PyTorch prints a pair.
inline std::string pair_text(int64_t h, int64_t w) {
  std::string s = "(";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on "(" + string
  s += std::to_string(h);
  s += ", ";
  s += std::to_string(w);
  s += ")";
  return s;
}

}  // namespace affine::nn::detail
