// Activation layers beyond layers.hpp's Tanh, Sigmoid and ReLU, as in torch.nn: each is one line
// over a row of the elementwise table (affine/tensor/unary_ops.hpp, which holds the formulas and
// derivatives).
#pragma once

#include "affine/nn/layers.hpp"

namespace affine::nn {

AFFINE_NN_ACTIVATION(GELU, gelu)  ///< exact (erf) form: x Phi(x)
AFFINE_NN_ACTIVATION(SiLU, silu)  ///< x sigmoid(x)
/// max(x, 0) + negative_slope min(x, 0); LeakyReLU(0.2).
AFFINE_NN_ACTIVATION_1(LeakyReLU, leaky_relu, negative_slope, 0.01)
/// log(1 + exp(beta x)) / beta, linear where beta x > threshold; Softplus(beta, threshold).
AFFINE_NN_ACTIVATION_2(Softplus, softplus, beta, 1.0, threshold, 20.0)

}  // namespace affine::nn
