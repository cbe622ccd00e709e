// matmul and the linear layer. matmul's products, forward and backward, go to the GEMM through
// gemm_strided with the operands' (row stride, column stride): a transposed operand is a
// Tensor::t() view, never a copy. When the gradient buffer of an input already exists and is
// exclusively the tape's (a Parameter's grad, or a node gradient nobody else references), the
// backward GEMM accumulates straight into it with beta = 1: no temporary, no extra pass.
// linear's forward and backward kernels are tensor/'s (affine::linear and
// affine/tensor/internal/linear.hpp, skinny one-pass kernels or the GEMM); a linear over a tanh
// is recorded as its own op, tanh_linear, whose backward applies tanh' in the same pass as dX.
#include <array>
#include <string>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/linear.hpp"
#include "affine/tensor/linear.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;

namespace {

// C := A B + beta C for 2-D views of one dtype (any strides; C must not overlap A or B).
void gemm_view(const Tensor& a, const Tensor& b, double beta, Tensor& c) {
  detail::visit_float(c.dtype(), "matmul", [&](auto tag) {
    using T = AFFINE_T(tag);
    gemm_strided(a.shape()[0], b.shape()[1], a.shape()[1], T(1), a.data<T>(), a.strides()[0],
                 a.strides()[1], b.data<T>(), b.strides()[0], b.strides()[1], static_cast<T>(beta),
                 c.data<T>(), c.strides()[0], c.strides()[1]);
  });
}

// Gradient contribution A B (2-D) for node idx, accumulated in place when possible.
void accumulate_product(TapeImpl& t, uint32_t idx, const Tensor& a, const Tensor& b) {
  if (!t.needs_grad(idx)) return;
  Tensor* target = t.accumulate_target(idx);
  if (target != nullptr && !target->shares_storage(a) && !target->shares_storage(b)) {
    gemm_view(a, b, 1.0, *target);
    return;
  }
  Tensor c = Tensor::empty({a.shape()[0], b.shape()[1]}, a.dtype());
  gemm_view(a, b, 0.0, c);
  t.accumulate(idx, std::move(c));
}

}  // namespace

// ---- matmul ------------------------------------------------------------------------------------
// saved[0] = A, saved[1] = B.

static void matmul_backward(TapeImpl& t, Node& n) {
  const Tensor& g = n.grad;
  const Tensor& a = n.saved[0];
  const Tensor& b = n.saved[1];
  if (a.rank() == 2 && b.rank() == 2) {
    accumulate_product(t, n.in[0], g, b.t());  // dA = G B^T   [m,n][n,k]
    accumulate_product(t, n.in[1], a.t(), g);  // dB = A^T G   [k,m][m,n]
    return;
  }
  // Batched: the same products per batch (matmul passes the transposed views by stride), summed
  // over batches an operand was broadcast along.
  if (t.needs_grad(n.in[0])) {
    t.accumulate(n.in[0], detail::reduce_to(affine::matmul(g, b.transpose(-2, -1)), a.shape()));
  }
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], detail::reduce_to(affine::matmul(a.transpose(-2, -1), g), b.shape()));
  }
}

Var matmul(const Var& a, const Var& b) {
  detail::require_defined("matmul", a);
  detail::require_defined("matmul", b);
  OpTape rec = op_begin("matmul", {&a, &b});
  Tensor out = affine::matmul(a.value(), b.value());  // checks shapes, names both
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &matmul_backward, {&a, &b});
  n.saved[0] = a.value();
  n.saved[1] = b.value();
  return rec.var;
}

// ---- linear ------------------------------------------------------------------------------------
// The forward is affine::linear (tensor/), the backward tensor/'s linear kernels
// (affine/tensor/internal/linear.hpp); this only decides where each gradient goes. When the
// gradient buffer of an input already exists and is exclusively the tape's (a Parameter's grad,
// or a node gradient nobody else references), the kernels accumulate straight into it.
// saved[0] = x as a 2-D [n, in] view, saved[1] = W [out, in]; dims = x's own shape.

namespace {

// dW and db of a linear node (inputs in[1], in[2]) from g [n, out] and x [n, in] (with tanh_y:
// from g, the gradient of tanh_y = tanh(x W^T + b), the tanh's derivative applied in the pass).
void linear_param_grads(TapeImpl& t, Node& n, const Tensor& g, const Tensor& x, const Tensor& w,
                        const Tensor* tanh_y = nullptr) {
  const bool need_w = t.needs_grad(n.in[1]);
  const bool need_b = t.needs_grad(n.in[2]);
  if (!need_w && !need_b) return;
  Tensor* tw = need_w ? t.accumulate_target(n.in[1]) : nullptr;
  Tensor* tb = need_b ? t.accumulate_target(n.in[2]) : nullptr;
  Tensor fresh_w = need_w && tw == nullptr ? Tensor::empty(w.shape(), w.dtype()) : Tensor();
  Tensor fresh_b = need_b && tb == nullptr ? Tensor::empty({w.shape()[0]}, g.dtype()) : Tensor();
  detail::linear_backward_params(g, x, need_w ? (tw != nullptr ? tw : &fresh_w) : nullptr,
                                 tw != nullptr, need_b ? (tb != nullptr ? tb : &fresh_b) : nullptr,
                                 tb != nullptr, tanh_y);
  if (fresh_w.defined()) t.accumulate(n.in[1], std::move(fresh_w));
  if (fresh_b.defined()) t.accumulate(n.in[2], std::move(fresh_b));
}

// The node's output gradient as [n, out].
Tensor grad_2d(const Node& n, const Tensor& x, const Tensor& w) {
  const Tensor& g = n.grad;
  return g.rank() == 2 ? g : g.reshape({x.shape()[0], w.shape()[0]});
}

}  // namespace

// dX = G W and dW, db of a linear node from its output gradient g [n, out].
void linear_grads(TapeImpl& t, Node& n, const Tensor& g, const Tensor& x, const Tensor& w) {
  if (t.needs_grad(n.in[0])) {  // dX = G W
    Tensor* target = n.dims.size() == 2 ? t.accumulate_target(n.in[0]) : nullptr;
    if (target != nullptr && target->rank() == 2 && !target->shares_storage(g)) {
      detail::linear_backward_input(g, w, *target, true);
    } else {
      Tensor dx = Tensor::empty(x.shape(), x.dtype());
      detail::linear_backward_input(g, w, dx, false);
      t.accumulate(n.in[0], n.dims.size() == 2 ? std::move(dx) : dx.reshape(n.dims));
    }
  }
  linear_param_grads(t, n, g, x, w);
}

static void linear_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& w = n.saved[1];
  linear_grads(t, n, grad_2d(n, x, w), x, w);
}

// ---- tanh_linear: linear over a tanh, recorded as one op ---------------------------------------
// linear(h, W, b) where h = tanh(z) is recorded with input z (not h): its backward writes
// dz = (G W) (1 - h^2) in the same pass as dX, saving a pass over [n, in] and a buffer. The tanh
// node stays on the tape for h's other uses: their gradients reach z through tanh's own VJP, and
// the sum is the same. ints[0] = h's node, whose gradient this op then never materialises unless
// the user asked to see it (retain_grad): then G W goes to h and tanh's VJP carries it on.
// saved as linear's, with saved[0] = h.

static void tanh_linear_backward(TapeImpl& t, Node& n) {
  const Tensor& h = n.saved[0];
  const Tensor& w = n.saved[1];
  const Tensor g = grad_2d(n, h, w);
  const auto h_node = static_cast<uint32_t>(n.ints[0]);
  if (t.nodes[h_node].retain_grad) {
    Tensor dh = Tensor::empty(h.shape(), h.dtype());
    detail::linear_backward_input(g, w, dh, false);
    t.accumulate(h_node, std::move(dh));
  } else if (t.needs_grad(n.in[0])) {
    Tensor dz = Tensor::empty(h.shape(), h.dtype());
    detail::linear_backward_input(g, w, dz, false, &h);
    t.accumulate(n.in[0], std::move(dz));
  }
  linear_param_grads(t, n, g, h, w);
}

// ---- linear_tanh_linear: two layers with a tanh between, one op --------------------------------
// z = act(tanh(x W1^T + b1) W2^T + b2). Inputs x, W1, b1, W2, b2; saved[0] = x as [n, in],
// saved[1] = W1, saved[2] = W2, saved[3] = h = the hidden tanh [n, hid], saved[4] = z as
// [n, out] when there is an activation; ints[0] = the activation; dims = x's own shape.

static void linear_tanh_linear_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& w1 = n.saved[1];
  const Tensor& w2 = n.saved[2];
  const Tensor& h = n.saved[3];
  const Tensor g = n.grad.rank() == 2 ? n.grad : n.grad.reshape({x.shape()[0], w2.shape()[0]});
  // Each wanted gradient goes straight into the tape's buffer when it has one of its own (a
  // Parameter's grad), else into a fresh tensor accumulated afterwards.
  std::array<Tensor*, 5> target{};
  std::array<Tensor, 5> fresh;
  const std::array<Shape, 5> shapes = {x.shape(), w1.shape(), Shape{w1.shape()[0]}, w2.shape(),
                                       Shape{w2.shape()[0]}};
  for (size_t i = 0; i < 5; ++i) {
    if (!t.needs_grad(n.in[i])) continue;
    target[i] = i == 0 && n.dims.size() != 2 ? nullptr : t.accumulate_target(n.in[i]);
    if (target[i] != nullptr && (target[i]->shares_storage(g) || target[i]->shape() != shapes[i])) {
      target[i] = nullptr;
    }
    if (target[i] == nullptr) fresh[i] = Tensor::empty(shapes[i], g.dtype());
  }
  auto where = [&](size_t i) { return fresh[i].defined() ? &fresh[i] : target[i]; };
  detail::TwoLayerGrads out;
  out.dx = where(0);
  out.accumulate_x = target[0] != nullptr;
  out.dw1 = where(1);
  out.accumulate_w1 = target[1] != nullptr;
  out.db1 = where(2);
  out.accumulate_b1 = target[2] != nullptr;
  out.dw2 = where(3);
  out.accumulate_w2 = target[3] != nullptr;
  out.db2 = where(4);
  out.accumulate_b2 = target[4] != nullptr;
  const auto act = static_cast<LinearActivation>(n.ints[0]);
  detail::linear_tanh_linear_backward(g, x, h, w1, w2, out,
                                      act != LinearActivation::none ? &n.saved[4] : nullptr, act);
  for (size_t i = 0; i < 5; ++i) {
    if (!fresh[i].defined()) continue;
    t.accumulate(n.in[i],
                 i == 0 && n.dims.size() != 2 ? fresh[i].reshape(n.dims) : std::move(fresh[i]));
  }
}

Var linear_tanh_linear(const Var& x, const Var& w1, const Var& b1, const Var& w2, const Var& b2,
                       LinearActivation activation) {
  detail::require_defined("linear", x);
  detail::require_defined("linear", w1, "weight");
  detail::require_defined("linear", w2, "weight");
  OpTape rec = op_begin("linear", {&x, &w1, &b1, &w2, &b2});
  const Tensor& xv = x.value();
  detail::TwoLayer r =
      detail::linear_tanh_linear(xv, w1.value(), b1.defined() ? b1.value() : Tensor(), w2.value(),
                                 b2.defined() ? b2.value() : Tensor(), activation);
  Tensor out = std::move(r.z);
  const Tensor z2 = activation != LinearActivation::none ? out : Tensor();  // [n, out]
  if (xv.rank() != 2) {
    Shape s = xv.shape();
    s[s.size() - 1] = w2.value().shape()[0];
    out = out.reshape(s);
  }
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &linear_tanh_linear_backward, {&x, &w1, &b1, &w2, &b2});
  n.saved[0] = xv.rank() == 2 ? xv : xv.reshape({-1, w1.value().shape()[1]});
  n.saved[1] = w1.value();
  n.saved[2] = w2.value();
  n.saved[3] = std::move(r.h);
  n.saved[4] = z2;
  n.ints[0] = static_cast<int64_t>(activation);
  n.dims = xv.shape();
  return rec.var;
}

// ---- linear with an activation, one op ---------------------------------------------------------
// y = act(x W^T + b). saved[0] = x as [n, in], saved[1] = W, saved[2] = y as [n, out];
// ints[0] = the activation; dims = x's own shape. The derivative comes from y: tanh' = 1 - y^2,
// sigmoid' = y (1 - y), relu' = [y > 0] (y > 0 exactly when x W^T + b > 0).

static void linear_act_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& w = n.saved[1];
  const Tensor& y = n.saved[2];
  const auto act = static_cast<LinearActivation>(n.ints[0]);
  if (act == LinearActivation::tanh && !t.needs_grad(n.in[0])) {
    // Only dW and db: tanh' is applied as the gradient is read, dz is never stored.
    linear_param_grads(t, n, grad_2d(n, x, w), x, w, &y);
    return;
  }
  // dz = act'(g): into g's own buffer when the tape holds the only reference to it.
  const bool in_place =
      !n.retain_grad && n.grad.is_contiguous() && TensorAccess::storage(n.grad).use_count() == 1;
  const Tensor g = grad_2d(n, x, w);
  Tensor dz = in_place ? g : Tensor::empty(y.shape(), y.dtype());
  detail::activation_backward(g, y, act, dz);
  linear_grads(t, n, dz, x, w);
}

Var linear(const Var& x, const Var& weight, const Var& bias, LinearActivation activation) {
  if (activation == LinearActivation::none) return linear(x, weight, bias);
  detail::require_defined("linear", x);
  detail::require_defined("linear", weight, "weight");
  OpTape rec = op_begin("linear", {&x, &weight, &bias});
  const Tensor& xv = x.value();
  Tensor out =
      affine::linear(xv, weight.value(), bias.defined() ? bias.value() : Tensor(), activation);
  if (!rec) return Var(std::move(out));
  const int64_t out_f = weight.value().shape()[0];
  Node& n = rec.record(out, &linear_act_backward, {&x, &weight, &bias});
  n.saved[0] = xv.rank() == 2 ? xv : xv.reshape({-1, weight.value().shape()[1]});
  n.saved[1] = weight.value();
  n.saved[2] = out.rank() == 2 ? out : out.reshape({-1, out_f});
  n.ints[0] = static_cast<int64_t>(activation);
  n.dims = xv.shape();
  return rec.var;
}

Var linear(const Var& x, const Var& weight, const Var& bias) {
  detail::require_defined("linear", x);
  detail::require_defined("linear", weight, "weight");
  OpTape rec = op_begin("linear", {&x, &weight, &bias});
  const Tensor& xv = x.value();
  Tensor out = affine::linear(xv, weight.value(), bias.defined() ? bias.value() : Tensor());
  if (!rec) return Var(std::move(out));
  const Tensor x2 = xv.rank() == 2 ? xv : xv.reshape({-1, weight.value().shape()[1]});
  // x = tanh(z) on this tape, with z needing a gradient: record the fused op on z.
  TapeImpl& impl = TapeAccess::impl(*rec.tape);
  const bool on_tape = x.tape() == rec.tape;
  const uint32_t xi = on_tape ? VarAccess::index(x) : detail::kNoInput;
  if (on_tape && xv.rank() == 2 && impl.nodes[xi].backward == &detail::tanh_vjp &&
      impl.needs_grad(impl.nodes[xi].in[0])) {
    const uint32_t zi = impl.nodes[xi].in[0];
    const Var z = VarAccess::make(impl.nodes[zi].value, rec.tape, zi, impl.generation);
    Node& n = rec.record(out, &tanh_linear_backward, {&z, &weight, &bias});
    n.saved[0] = x2;
    n.saved[1] = weight.value();
    n.dims = xv.shape();
    n.ints[0] = xi;
    return rec.var;
  }
  Node& n = rec.record(out, &linear_backward, {&x, &weight, &bias});
  n.saved[0] = x2;
  n.saved[1] = weight.value();
  n.dims = xv.shape();
  return rec.var;
}

}  // namespace affine
