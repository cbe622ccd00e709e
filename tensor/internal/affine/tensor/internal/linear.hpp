// Internal: the backward kernels of linear (tensor/src/gemm/linear.cpp), for autograd's linear.
// The forward is the public affine::linear (ops.hpp). All tensors are 2-D and of one dtype:
// g [n, out] (the output gradient, unit-stride rows), x [n, in], w [out, in]; outputs are
// contiguous and must not overlap the inputs. Skinny layers take one-pass kernels, wide ones the
// GEMM; results are bit-identical for any thread count.
#pragma once

#include "affine/tensor/tensor.hpp"

namespace affine::detail {

/// dx := g w (accumulate: dx += g w). With tanh_y (shape of dx), dx := (g w) * (1 - tanh_y^2):
/// the gradient through a tanh whose output tanh_y is this layer's input, in the same pass
/// (accumulate must then be false).
void linear_backward_input(const Tensor& g, const Tensor& w, Tensor& dx, bool accumulate,
                           const Tensor* tanh_y = nullptr);

/// dw := g^T x and db := the column sums of g (or += each, per flag); either may be null. One
/// pass over the rows for skinny layers, with blockwise float32 row sums. With tanh_y ([n, out],
/// unit-stride rows), g is the gradient of tanh_y = tanh(x w^T + b) and the sums are of
/// g (1 - tanh_y^2), computed as g is read when the layer has at most 8 inputs (bit-identical to
/// tanh_backward followed by the call without tanh_y), else materialised first.
void linear_backward_params(const Tensor& g, const Tensor& x, Tensor* dw, bool accumulate_w,
                            Tensor* db, bool accumulate_b, const Tensor* tanh_y = nullptr);

/// dst := the column sums of g [n, m] (accumulate: dst += them); dst [m] of g's dtype.
void column_sums(const Tensor& g, Tensor& dst, bool accumulate);

}  // namespace affine::detail
