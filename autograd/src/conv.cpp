// conv2d: shape checks, the im2col + GEMM forward (tensor/src/conv.cpp) and its VJP, which
// produces dx, and accumulates dweight and dbias straight into their gradient buffers (usually
// Parameter::grad) in the same pass over the batch.
#include <string>
#include <utility>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::OpTape;
using detail::TapeImpl;
using detail::Window2d;

namespace {

// ints = stride h, w, padding h, w; dims = dilation h, w, groups.
Window2d conv_window(const Node& n, const Shape& x, const Shape& w) {
  return detail::window_2d("conv2d", x, w[2], w[3], n.ints[0], n.ints[1], n.ints[2], n.ints[3],
                           n.dims[0], n.dims[1]);
}

void conv2d_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& w = n.saved[1];
  const Window2d g = conv_window(n, x.shape(), w.shape());
  const Tensor dy = n.grad.contiguous();
  Tensor dx;
  Tensor fresh_w;
  Tensor fresh_b;
  Tensor* dw = detail::grad_buffer(t, n.in[1], w.shape(), w.dtype(), n, &fresh_w);
  Tensor* db = detail::grad_buffer(t, n.in[2], {w.shape()[0]}, w.dtype(), n, &fresh_b);
  detail::conv2d_backward(x, w, dy, g, n.dims[2], t.needs_grad(n.in[0]) ? &dx : nullptr, dw, db);
  if (dx.defined()) t.accumulate(n.in[0], std::move(dx));
  detail::hand_over(t, n.in[1], fresh_w);
  detail::hand_over(t, n.in[2], fresh_b);
}

}  // namespace

Var conv2d(const Var& x, const Var& weight, const Var& bias, Size2 stride, Size2 padding,
           Size2 dilation, int64_t groups) {
  const char* op = "conv2d";
  detail::require_defined(op, x);
  detail::require_defined(op, weight, "weight");
  const Tensor& xv = x.value();
  const Tensor& wv = weight.value();
  if (wv.rank() != 4) {
    throw Error("conv2d: weight must be 4-D [out_channels, in_channels / groups, kh, kw], got " +
                to_string(wv.shape()));
  }
  const Window2d g = detail::window_2d(op, xv.shape(), wv.shape()[2], wv.shape()[3], stride.h,
                                       stride.w, padding.h, padding.w, dilation.h, dilation.w);
  if (groups < 1 || g.channels % groups != 0 || wv.shape()[0] % groups != 0) {
    throw Error("conv2d: groups=" + std::to_string(groups) + " must divide both the input's " +
                std::to_string(g.channels) + " channels and the weight's " +
                std::to_string(wv.shape()[0]) + " output channels (input " + to_string(xv.shape()) +
                ", weight " + to_string(wv.shape()) + ")");
  }
  if (wv.shape()[1] * groups != g.channels) {
    throw Error("conv2d: input " + to_string(xv.shape()) + " has " + std::to_string(g.channels) +
                " channels but weight " + to_string(wv.shape()) +
                (groups > 1 ? " with groups=" + std::to_string(groups) : std::string()) +
                " expects " + std::to_string(wv.shape()[1] * groups));
  }
  detail::check_same_float(op, xv.dtype(), wv.dtype());
  if (bias.defined()) {
    const Tensor& bv = bias.value();
    if (bv.rank() != 1 || bv.shape()[0] != wv.shape()[0]) {
      throw Error("conv2d: bias " + to_string(bv.shape()) + " does not match weight " +
                  to_string(wv.shape()) + " (expected [" + std::to_string(wv.shape()[0]) + "])");
    }
    detail::check_same_float(op, xv.dtype(), bv.dtype());
  }
  OpTape rec = detail::op_begin(op, {&x, &weight, &bias});
  const Tensor xc = xv.contiguous();
  const Tensor wc = wv.contiguous();
  const Tensor bc = bias.defined() ? bias.value().contiguous() : Tensor();
  Tensor out = detail::conv2d_forward(xc, wc, bc, g, groups);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &conv2d_backward, {&x, &weight, &bias});
  n.saved[0] = xc;
  n.saved[1] = wc;
  n.ints = {stride.h, stride.w, padding.h, padding.w};
  n.dims = Dims{dilation.h, dilation.w, groups};
  return rec.var;
}

}  // namespace affine
