#include "affine/nn/activation.hpp"

#include <cstdio>
#include <string>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

using detail::number_text;

// ---- activations ----------------------------------------------------------------------------

Var GELU::forward(const Var& x) { return gelu(x); }
Var LeakyReLU::forward(const Var& x) { return leaky_relu(x, slope_); }
Var Softplus::forward(const Var& x) { return softplus(x, beta_, threshold_); }
Var SiLU::forward(const Var& x) { return silu(x); }

std::string LeakyReLU::name() const {
  return "LeakyReLU(negative_slope=" + number_text(slope_) + ")";
}

std::string Softplus::name() const {
  return "Softplus(beta=" + number_text(beta_) + ", threshold=" + number_text(threshold_) + ")";
}

}  // namespace affine::nn
