// linear: a layer's affine map x W^T + b with an optional activation in the same pass, as
// torch.nn.functional.linear. The GEMM family's entry point for layers
// (tensor/src/gemm/linear.cpp): skinny layers (in or out features <= 8) run one-pass kernels of the
// active ISA, wide ones the packed GEMM. Autograd's linear(Var, Var, Var) is this plus its
// backward.
#pragma once

#include "affine/tensor/export.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine {

/// The activation linear() applies to x W^T + b before writing it (none: the plain map).
enum class LinearActivation { none, relu, tanh, sigmoid };

/// activation(x W^T + b) for x [*, in] (leading dims are kept), W [out, in], b [out] (undefined:
/// no bias); float32 or float64, one dtype. Equal bit for bit to the activation op applied after.
/// Throws affine::Error naming "linear" and the shapes when in_features or the bias disagree.
AFFINE_API Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                         LinearActivation activation = LinearActivation::none);

}  // namespace affine
