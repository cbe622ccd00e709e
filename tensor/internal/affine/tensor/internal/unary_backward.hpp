// Internal: the backward kernels of the unary table (affine/tensor/unary_ops.hpp), for autograd.
//
//   detail::tanh_backward(g, y, out);   // out = g * (1 - y^2)
//
// One function per row, NAME_backward(g, saved, [param,] out): out := the gradient of the op's
// input given g, the gradient of its output, and saved, the row's saved value (its input x or its
// output y). g and saved have one shape and dtype, any strides; out has that shape and dtype and
// may be g itself (g is then overwritten in place). Throws affine::Error naming the op otherwise.
#pragma once

#include "affine/tensor/tensor.hpp"
#include "affine/tensor/unary_ops.hpp"

namespace affine::detail {

#define AFFINE_DECLARE_UNARY_BACKWARD(name, ...) \
  void name##_backward(const Tensor& g, const Tensor& saved, Tensor& out);
AFFINE_UNARY_OPS(AFFINE_DECLARE_UNARY_BACKWARD)
#undef AFFINE_DECLARE_UNARY_BACKWARD

#define AFFINE_DECLARE_UNARY_BACKWARD_1(name, param, ...) \
  void name##_backward(const Tensor& g, const Tensor& saved, double param, Tensor& out);
AFFINE_UNARY_OPS_1(AFFINE_DECLARE_UNARY_BACKWARD_1)
#undef AFFINE_DECLARE_UNARY_BACKWARD_1

#define AFFINE_DECLARE_UNARY_BACKWARD_2(name, p1, d1, p2, d2, ...) \
  void name##_backward(const Tensor& g, const Tensor& saved, double p1, double p2, Tensor& out);
AFFINE_UNARY_OPS_2(AFFINE_DECLARE_UNARY_BACKWARD_2)
#undef AFFINE_DECLARE_UNARY_BACKWARD_2

}  // namespace affine::detail
