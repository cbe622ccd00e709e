// Pooling ops: max_pool2d, avg_pool2d, adaptive_avg_pool2d. Forward and backward kernels are in
// tensor/src/pool.cpp; the window (kernel, stride, padding, dilation) is kept in the node's dims.
#include <string>
#include <utility>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::OpTape;
using detail::TapeImpl;
using detail::Window2d;

namespace {

Window2d pool_window(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                     Size2 dilation, bool ceil_mode = false) {
  const int64_t sh = stride.h == 0 ? kernel.h : stride.h;
  const int64_t sw = stride.w == 0 ? kernel.w : stride.w;
  if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w) {
    throw Error(std::string(op) + ": padding " + std::to_string(padding.h) + "x" +
                std::to_string(padding.w) + " must be at most half the kernel " +
                std::to_string(kernel.h) + "x" + std::to_string(kernel.w) + " (input " +
                to_string(x.shape()) + ")");
  }
  if (x.dtype() == DType::i64) {
    throw Error(std::string(op) + ": int64 input " + to_string(x.shape()) +
                " (convert with to(DType::f32))");
  }
  return detail::window_2d(op, x.shape(), kernel.h, kernel.w, sh, sw, padding.h, padding.w,
                           dilation.h, dilation.w, ceil_mode);
}

// The window as dims [kh, kw, sh, sw, ph, pw, dh, dw] and back (max_pool2d keeps ceil_mode in
// ints[0]).
Dims window_dims(const Window2d& g) {
  return Dims{g.kernel_h, g.kernel_w, g.stride_h,   g.stride_w,
              g.pad_h,    g.pad_w,    g.dilation_h, g.dilation_w};
}

Window2d window_of(const char* op, const Node& n, const Shape& input, bool ceil_mode = false) {
  const Dims& d = n.dims;
  return detail::window_2d(op, input, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], ceil_mode);
}

const Shape& input_shape(const TapeImpl& t, const Node& n) {
  return t.nodes[n.in[0]].value.shape();
}

void max_pool2d_backward(TapeImpl& t, Node& n) {
  const Window2d g = window_of("max_pool2d", n, input_shape(t, n), n.ints[0] != 0);
  t.accumulate(n.in[0], detail::max_pool2d_backward(n.grad.contiguous(), n.saved[0], g));
}

void avg_pool2d_backward(TapeImpl& t, Node& n) {
  const Window2d g = window_of("avg_pool2d", n, input_shape(t, n));
  t.accumulate(n.in[0], detail::avg_pool2d_backward(n.grad.contiguous(), g, n.ints[0] != 0));
}

void adaptive_avg_pool2d_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0],
               detail::adaptive_avg_pool2d_backward(n.grad.contiguous(), input_shape(t, n)));
}

}  // namespace

Var max_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
               bool ceil_mode) {
  const char* op = "max_pool2d";
  detail::require_defined(op, x);
  const Window2d g = pool_window(op, x.value(), kernel, stride, padding, dilation, ceil_mode);
  OpTape rec = detail::op_begin(op, {&x});
  Tensor indices;
  Tensor out = detail::max_pool2d_forward(x.value().contiguous(), g, indices);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &max_pool2d_backward, {&x});
  n.saved[0] = std::move(indices);
  n.dims = window_dims(g);
  n.ints[0] = ceil_mode ? 1 : 0;
  return rec.var;
}

Var avg_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad) {
  const char* op = "avg_pool2d";
  detail::require_defined(op, x);
  const Window2d g = pool_window(op, x.value(), kernel, stride, padding, 1);
  OpTape rec = detail::op_begin(op, {&x});
  Tensor out = detail::avg_pool2d_forward(x.value().contiguous(), g, count_include_pad);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &avg_pool2d_backward, {&x});
  n.dims = window_dims(g);
  n.ints[0] = count_include_pad ? 1 : 0;
  return rec.var;
}

Var adaptive_avg_pool2d(const Var& x, Size2 output_size) {
  const char* op = "adaptive_avg_pool2d";
  detail::require_defined(op, x);
  const Tensor& xv = x.value();
  if (xv.rank() != 4 || output_size.h < 1 || output_size.w < 1 || xv.dtype() == DType::i64) {
    throw Error(
        "adaptive_avg_pool2d: expected a 4-D float input [N, C, H, W] and a positive "
        "output size, got input " +
        to_string(xv.shape()) + " and output size " + std::to_string(output_size.h) + "x" +
        std::to_string(output_size.w));
  }
  OpTape rec = detail::op_begin(op, {&x});
  Tensor out = detail::adaptive_avg_pool2d_forward(xv.contiguous(), output_size.h, output_size.w);
  if (!rec) return Var(std::move(out));
  rec.record(out, &adaptive_avg_pool2d_backward, {&x});
  return rec.var;
}

}  // namespace affine
