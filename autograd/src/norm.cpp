// layer_norm and batch_norm: shape checks, the kernels of tensor/src/norm.cpp, and their VJPs,
// which produce dx and accumulate dweight, dbias straight into their gradient buffers.
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

namespace {

// Node of both norms: saved[0] = x (contiguous), saved[1] = [stats (2 per group); weight (or
// empty)] in one 1-D tensor; ints[0] = groups (rows or channels), ints[1] = weight size (0 when
// absent), ints[2] = batch statistics (batch_norm).
Tensor pack_stats(const Tensor& stats, const Tensor& weight) {
  const int64_t ns = stats.numel();
  const int64_t nw = weight.defined() ? weight.numel() : 0;
  Tensor pack = Tensor::empty({ns + nw}, stats.dtype());
  pack.narrow(0, 0, ns).copy_(stats.reshape({ns}));
  if (nw > 0) pack.narrow(0, ns, nw).copy_(weight.reshape({nw}));
  return pack;
}

Tensor unpack_stats(const Node& n) { return n.saved[1].narrow(0, 0, 2 * n.ints[0]); }
Tensor unpack_weight(const Node& n) {
  return n.ints[1] == 0 ? Tensor() : n.saved[1].narrow(0, 2 * n.ints[0], n.ints[1]);
}

void layer_norm_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const int64_t m = n.ints[1] != 0 ? n.ints[1] : n.ints[3];
  const Shape wshape{m};
  Tensor fresh_w;
  Tensor fresh_b;
  Tensor* dw = detail::grad_buffer(t, n.in[1], wshape, x.dtype(), n, &fresh_w);
  Tensor* db = detail::grad_buffer(t, n.in[2], wshape, x.dtype(), n, &fresh_b);
  // Parameter gradients have the parameter's own shape; the kernel sees them flat.
  Tensor dw_flat = dw != nullptr ? dw->view({m}) : Tensor();
  Tensor db_flat = db != nullptr ? db->view({m}) : Tensor();
  Tensor dx;
  detail::layer_norm_backward(n.grad.contiguous(), x, m, unpack_weight(n), unpack_stats(n),
                              t.needs_grad(n.in[0]) ? &dx : nullptr,
                              dw != nullptr ? &dw_flat : nullptr,
                              db != nullptr ? &db_flat : nullptr);
  if (dx.defined()) t.accumulate(n.in[0], std::move(dx));
  if (fresh_w.defined()) t.accumulate(n.in[1], fresh_w.view(t.nodes[n.in[1]].value.shape()));
  if (fresh_b.defined()) t.accumulate(n.in[2], fresh_b.view(t.nodes[n.in[2]].value.shape()));
}

void batch_norm_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Shape cshape{n.ints[0]};
  Tensor fresh_w;
  Tensor fresh_b;
  Tensor* dw = detail::grad_buffer(t, n.in[1], cshape, x.dtype(), n, &fresh_w);
  Tensor* db = detail::grad_buffer(t, n.in[2], cshape, x.dtype(), n, &fresh_b);
  Tensor dx;
  detail::batch_norm_backward(n.grad.contiguous(), x, unpack_weight(n), unpack_stats(n),
                              n.ints[2] != 0, t.needs_grad(n.in[0]) ? &dx : nullptr, dw, db);
  if (dx.defined()) t.accumulate(n.in[0], std::move(dx));
  detail::hand_over(t, n.in[1], fresh_w);
  detail::hand_over(t, n.in[2], fresh_b);
}

void check_param(const char* op, const char* what, const Var& p, const Shape& expected,
                 const Tensor& x) {
  if (!p.defined()) return;
  if (p.shape() != expected) {
    throw Error(std::string(op) + ": " + what + " " + to_string(p.shape()) + " does not match " +
                "(expected " + to_string(expected) + " for input " + to_string(x.shape()) + ")");
  }
  detail::check_same_float(op, x.dtype(), p.dtype());
}

}  // namespace

Var layer_norm(const Var& x, const Shape& normalized_shape, const Var& weight, const Var& bias,
               double eps) {
  const char* op = "layer_norm";
  detail::require_defined(op, x);
  const Tensor& xv = x.value();
  const int k = normalized_shape.size();
  bool match = k >= 1 && xv.rank() >= k;
  for (int d = 0; match && d < k; ++d) {
    match = xv.shape()[xv.rank() - k + d] == normalized_shape[d];
  }
  if (!match) {
    throw Error("layer_norm: input " + to_string(xv.shape()) +
                " does not end in the normalized "
                "shape " +
                to_string(normalized_shape));
  }
  if (xv.dtype() == DType::i64) throw Error("layer_norm: int64 input " + to_string(xv.shape()));
  check_param(op, "weight", weight, normalized_shape, xv);
  check_param(op, "bias", bias, normalized_shape, xv);
  if (!(eps >= 0)) throw Error("layer_norm: eps must be non-negative, got " + std::to_string(eps));
  int64_t m = 1;
  for (int64_t d : normalized_shape) m *= d;
  OpTape rec = detail::op_begin(op, {&x, &weight, &bias});
  const Tensor xc = xv.contiguous();
  const Tensor wc = weight.defined() ? weight.value().contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.value().contiguous() : Tensor();
  Tensor stats;
  Tensor out = detail::layer_norm_forward(xc, m, wc, bc, eps, stats);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &layer_norm_backward, {&x, &weight, &bias});
  n.saved[0] = xc;
  n.saved[1] = pack_stats(stats, wc);
  n.ints = {m == 0 ? 0 : xc.numel() / m, wc.defined() ? m : 0, 0, m};
  return rec.var;
}

Var batch_norm(const Var& x, Tensor running_mean, Tensor running_var, const Var& weight,
               const Var& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  detail::require_defined(op, x);
  const Tensor& xv = x.value();
  if (xv.rank() < 2) {
    throw Error("batch_norm: expected input [N, C] or [N, C, *], got " + to_string(xv.shape()));
  }
  if (xv.dtype() == DType::i64) throw Error("batch_norm: int64 input " + to_string(xv.shape()));
  const int64_t c = xv.shape()[1];
  const Shape cshape{c};
  check_param(op, "weight", weight, cshape, xv);
  check_param(op, "bias", bias, cshape, xv);
  for (const Tensor* r : {&running_mean, &running_var}) {
    if (r->defined() && (r->shape() != cshape || r->dtype() != xv.dtype() || !r->is_contiguous())) {
      throw Error("batch_norm: running statistics " + to_string(r->shape()) + " (" +
                  std::string(dtype_name(r->dtype())) + ") must be contiguous " +
                  to_string(cshape) + " " + std::string(dtype_name(xv.dtype())) + " for input " +
                  to_string(xv.shape()));
    }
  }
  if (!training && (!running_mean.defined() || !running_var.defined())) {
    throw Error("batch_norm: evaluation mode needs running_mean and running_var (input " +
                to_string(xv.shape()) + ")");
  }
  if (training && xv.numel() / c <= 1) {
    throw Error("batch_norm: expected more than 1 value per channel when training, got input " +
                to_string(xv.shape()));
  }
  OpTape rec = detail::op_begin(op, {&x, &weight, &bias});
  const Tensor xc = xv.contiguous();
  const Tensor wc = weight.defined() ? weight.value().contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.value().contiguous() : Tensor();
  Tensor stats;
  Tensor out = detail::batch_norm_forward(xc, wc, bc, running_mean, running_var, training, momentum,
                                          eps, stats);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &batch_norm_backward, {&x, &weight, &bias});
  n.saved[0] = xc;
  n.saved[1] = pack_stats(stats, wc);
  n.ints = {c, wc.defined() ? c : 0, training ? 1 : 0, 0};
  return rec.var;
}

}  // namespace affine
