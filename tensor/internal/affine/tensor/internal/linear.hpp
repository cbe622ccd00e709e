// Internal: the backward kernels of linear (tensor/src/gemm/linear.cpp), for autograd's linear.
// The forward is the public affine::linear (ops.hpp). All tensors are 2-D and of one dtype:
// g [n, out] (the output gradient, unit-stride rows), x [n, in], w [out, in]; outputs are
// contiguous and must not overlap the inputs. Skinny layers take one-pass kernels, wide ones the
// GEMM; results are bit-identical for any thread count.
#pragma once

#include "affine/tensor/linear.hpp"
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

/// h = tanh(x w1^T + b1) [n, hid] and z = out_act(h w2^T + b2) [n, out] for x [*, in] (taken as
/// [n, in]), w1 [hid, in], w2 [out, hid], biases optional: the forward of autograd's
/// linear_tanh_linear. With in and out <= 8 (the seed's 2-100-2), each L1-sized block of rows goes
/// through both layers (h written once, read back from L1 for z, the activation applied to the
/// block as linear() applies it); otherwise the two linear() calls. Checks as linear(), naming
/// "linear".
struct TwoLayer {
  Tensor h, z;
};
TwoLayer linear_tanh_linear(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                            const Tensor& b2, LinearActivation out_act = LinearActivation::none);

/// Where linear_tanh_linear_backward writes (null: not wanted), and whether it adds to it.
struct TwoLayerGrads {
  Tensor* dx = nullptr;
  bool accumulate_x = false;
  Tensor* dw1 = nullptr;
  bool accumulate_w1 = false;
  Tensor* db1 = nullptr;
  bool accumulate_b1 = false;
  Tensor* dw2 = nullptr;
  bool accumulate_w2 = false;
  Tensor* db2 = nullptr;
  bool accumulate_b2 = false;
};

/// The gradients of linear_tanh_linear from gz [n, out] (x [n, in], h its saved [n, hid]):
/// dz = (gz w2) (1 - h^2), dw2 = gz^T h, db2, dw1 = dz^T x, db1, dx = dz w1. With an output
/// activation, gz is the gradient of z = out_act(...) (its output, contiguous [n, out]) and goes
/// through the activation's derivative first, with the bits of the activation op's own backward.
/// Skinny shapes take one pass over the rows in chunks that stay in cache, dz never stored unless
/// dx is wanted; the sums equal those of the two layers' own backward kernels bit for bit, for
/// any thread count.
void linear_tanh_linear_backward(const Tensor& gz, const Tensor& x, const Tensor& h,
                                 const Tensor& w1, const Tensor& w2, const TwoLayerGrads& out,
                                 const Tensor* z = nullptr,
                                 LinearActivation out_act = LinearActivation::none);

/// out := the gradient of act's input from g (its output's gradient) and y (its output): the
/// activation ops' own backward (tanh_backward, sigmoid_backward, relu_backward; out := g for
/// none). out has g's shape and dtype and may be g itself.
void activation_backward(const Tensor& g, const Tensor& y, LinearActivation act, Tensor& out);

/// dst := the column sums of g [n, m] (accumulate: dst += them); dst [m] of g's dtype.
void column_sums(const Tensor& g, Tensor& dst, bool accumulate);

}  // namespace affine::detail
