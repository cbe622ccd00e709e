// Elementwise ops: forward from tensor/ops.hpp (which checks shapes and dtypes and names the op),
// the vector-Jacobian product right below each one. Broadcast inputs get their gradient summed
// back to their own shape (reduce_to -> sum_to). The derivative factors are fused into one pass
// with the incoming gradient (kernels.hpp), so a VJP costs one read of each operand.
#include <cmath>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/internal/unary_backward.hpp"
#include "affine/tensor/ops.hpp"
#include "kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::reduce_to;
using detail::TapeImpl;
using detail::zip;

namespace {

// Records a unary op whose VJP needs saved[0] (and maybe saved[1]) and scalars.
Var unary(const char* op, const Var& a, Tensor out, detail::BackwardFn fn, Tensor s0 = {},
          Tensor s1 = {}, double c0 = 0, double c1 = 0) {
  OpTape rec = op_begin(op, {&a});
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, fn, {&a});
  n.saved[0] = std::move(s0);
  n.saved[1] = std::move(s1);
  n.scalar = {c0, c1};
  return rec.var;
}

// The VJP of a row of the unary table: the tensor-level backward kernel, writing into the
// gradient buffer itself when the tape holds the only reference to it (the gradient is single-use;
// a retained one is kept), so backward through an activation allocates nothing.
template <class Backward>
void table_vjp(TapeImpl& t, Node& n, Backward backward) {
  if (!t.needs_grad(n.in[0])) return;
  const Tensor& g = n.grad;
  const bool in_place = !n.retain_grad && g.is_contiguous() && g.dtype() == n.saved[0].dtype() &&
                        TensorAccess::storage(g).use_count() == 1;
  Tensor out = in_place ? std::move(n.grad) : Tensor::empty(g.shape(), g.dtype());
  backward(in_place ? out : n.grad, n.saved[0], out);
  t.accumulate(n.in[0], std::move(out));
}

}  // namespace

// ---- binary (broadcasting) ---------------------------------------------------------------------
// saved[0], saved[1]: the inputs' values (their shapes tell the VJP what to sum back to).

static void add_backward(TapeImpl& t, Node& n) {
  // d(a + b) = g for both, summed over the dimensions each was broadcast along.
  if (t.needs_grad(n.in[0])) t.accumulate(n.in[0], reduce_to(n.grad, n.dims));
  if (t.needs_grad(n.in[1])) t.accumulate(n.in[1], reduce_to(n.grad, n.saved[1].shape()));
}

Var add(const Var& a, const Var& b) {
  detail::require_defined("add", a);
  detail::require_defined("add", b);
  OpTape rec = op_begin("add", {&a, &b});
  Tensor out = affine::add(a.value(), b.value());
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &add_backward, {&a, &b});
  n.dims = a.shape();
  n.saved[1] = b.value();
  return rec.var;
}

static void sub_backward(TapeImpl& t, Node& n) {
  // d(a - b) = g for a, -g for b.
  if (t.needs_grad(n.in[0])) t.accumulate(n.in[0], reduce_to(n.grad, n.dims));
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], reduce_to(affine::neg(n.grad), n.saved[1].shape()));
  }
}

Var sub(const Var& a, const Var& b) {
  detail::require_defined("sub", a);
  detail::require_defined("sub", b);
  OpTape rec = op_begin("sub", {&a, &b});
  Tensor out = affine::sub(a.value(), b.value());
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &sub_backward, {&a, &b});
  n.dims = a.shape();
  n.saved[1] = b.value();
  return rec.var;
}

static void mul_backward(TapeImpl& t, Node& n) {
  // d(a b) = g b for a, g a for b.
  const Tensor& g = n.grad;
  if (t.needs_grad(n.in[0])) {
    t.accumulate(n.in[0], reduce_to(affine::mul(g, n.saved[1]), n.saved[0].shape()));
  }
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], reduce_to(affine::mul(g, n.saved[0]), n.saved[1].shape()));
  }
}

Var mul(const Var& a, const Var& b) {
  detail::require_defined("mul", a);
  detail::require_defined("mul", b);
  OpTape rec = op_begin("mul", {&a, &b});
  Tensor out = affine::mul(a.value(), b.value());
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &mul_backward, {&a, &b});
  n.saved[0] = a.value();
  n.saved[1] = b.value();
  return rec.var;
}

static void div_backward(TapeImpl& t, Node& n) {
  // d(a / b) = g / b for a, -g a / b^2 for b.
  const Tensor& g = n.grad;
  const Tensor& a = n.saved[0];
  const Tensor& b = n.saved[1];
  if (t.needs_grad(n.in[0])) t.accumulate(n.in[0], reduce_to(affine::div(g, b), a.shape()));
  if (t.needs_grad(n.in[1])) {
    Tensor d = zip<3>("div", g.shape(), {&g, &a, &b},
                      [](auto gv, auto av, auto bv) { return -gv * av / (bv * bv); });
    t.accumulate(n.in[1], reduce_to(std::move(d), b.shape()));
  }
}

Var div(const Var& a, const Var& b) {
  detail::require_defined("div", a);
  detail::require_defined("div", b);
  OpTape rec = op_begin("div", {&a, &b});
  Tensor out = affine::div(a.value(), b.value());
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &div_backward, {&a, &b});
  n.saved[0] = a.value();
  n.saved[1] = b.value();
  return rec.var;
}

// ---- with a scalar -----------------------------------------------------------------------------

Var add(const Var& a, double b) {
  detail::require_defined("add", a);
  return unary("add", a, affine::add(a.value(), b),
               [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], n.grad); });
}

Var sub(const Var& a, double b) {
  detail::require_defined("sub", a);
  return unary("sub", a, affine::sub(a.value(), b),
               [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], n.grad); });
}

Var sub(double a, const Var& b) {
  detail::require_defined("sub", b);
  return unary("sub", b, affine::sub(a, b.value()),
               [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], affine::neg(n.grad)); });
}

Var mul(const Var& a, double b) {
  detail::require_defined("mul", a);
  return unary(
      "mul", a, affine::mul(a.value(), b),
      [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], affine::mul(n.grad, n.scalar[0])); }, {}, {},
      b);
}

Var div(const Var& a, double b) {
  detail::require_defined("div", a);
  return unary(
      "div", a, affine::div(a.value(), b),
      [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], affine::div(n.grad, n.scalar[0])); }, {}, {},
      b);
}

Var div(double a, const Var& b) {
  detail::require_defined("div", b);
  Tensor out = affine::div(a, b.value());
  return unary(
      "div", b, out,
      [](TapeImpl& t, Node& n) {
        // d(c / b) = -g c / b^2 = -g out / b.
        const Tensor& g = n.grad;
        t.accumulate(n.in[0], zip<3>("div", g.shape(), {&g, &n.saved[0], &n.saved[1]},
                                     [](auto gv, auto o, auto bv) { return -gv * o / bv; }));
      },
      out, b.value());
}

// ---- unary -------------------------------------------------------------------------------------

// ---- the unary table (affine/tensor/unary_ops.hpp): forward and backward kernels from tensor/ --
// saved[0] = the row's saved value (x = the input, y = the output); scalar[0] = the parameter.

namespace detail {  // the VJPs are named (tape_impl.hpp: linear's backward recognises tanh's)
#define AFFINE_DECLARE_VJP(name, ...) void name##_vjp(TapeImpl& t, Node& n);
AFFINE_UNARY_OPS(AFFINE_DECLARE_VJP)
AFFINE_UNARY_OPS_1(AFFINE_DECLARE_VJP)
AFFINE_UNARY_OPS_2(AFFINE_DECLARE_VJP)
#undef AFFINE_DECLARE_VJP
}  // namespace detail

#define AFFINE_SAVED_x a.value()
#define AFFINE_SAVED_y out
#define AFFINE_DEFINE_UNARY(name, f, vjp, saved, f32)                       \
  void detail::name##_vjp(TapeImpl& t, Node& n) {                           \
    table_vjp(t, n, [](const Tensor& g, const Tensor& v, Tensor& o) {       \
      detail::name##_backward(g, v, o);                                     \
    });                                                                     \
  }                                                                         \
  Var name(const Var& a) {                                                  \
    detail::require_defined(#name, a);                                      \
    Tensor out = affine::name(a.value());                                   \
    return unary(#name, a, out, &detail::name##_vjp, AFFINE_SAVED_##saved); \
  }
AFFINE_UNARY_OPS(AFFINE_DEFINE_UNARY)
#undef AFFINE_DEFINE_UNARY

#define AFFINE_DEFINE_UNARY_1(name, param, default_value, f, vjp, saved)               \
  void detail::name##_vjp(TapeImpl& t, Node& n) {                                      \
    const double p = n.scalar[0];                                                      \
    table_vjp(t, n, [p](const Tensor& g, const Tensor& v, Tensor& o) {                 \
      detail::name##_backward(g, v, p, o);                                             \
    });                                                                                \
  }                                                                                    \
  Var name(const Var& a, double param) {                                               \
    detail::require_defined(#name, a);                                                 \
    Tensor out = affine::name(a.value(), param);                                       \
    return unary(#name, a, out, &detail::name##_vjp, AFFINE_SAVED_##saved, {}, param); \
  }
AFFINE_UNARY_OPS_1(AFFINE_DEFINE_UNARY_1)
#undef AFFINE_DEFINE_UNARY_1

#define AFFINE_DEFINE_UNARY_2(name, p1, d1, p2, d2, valid, requirement, f, vjp, saved)  \
  void detail::name##_vjp(TapeImpl& t, Node& n) {                                       \
    const double c1 = n.scalar[0], c2 = n.scalar[1];                                    \
    table_vjp(t, n, [c1, c2](const Tensor& g, const Tensor& v, Tensor& o) {             \
      detail::name##_backward(g, v, c1, c2, o);                                         \
    });                                                                                 \
  }                                                                                     \
  Var name(const Var& a, double p1, double p2) {                                        \
    detail::require_defined(#name, a);                                                  \
    Tensor out = affine::name(a.value(), p1, p2);                                       \
    return unary(#name, a, out, &detail::name##_vjp, AFFINE_SAVED_##saved, {}, p1, p2); \
  }
AFFINE_UNARY_OPS_2(AFFINE_DEFINE_UNARY_2)
#undef AFFINE_DEFINE_UNARY_2
#undef AFFINE_SAVED_x
#undef AFFINE_SAVED_y

Var clamp(const Var& a, double low, double high) {
  detail::require_defined("clamp", a);
  return unary(
      "clamp", a, affine::clamp(a.value(), low, high),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        const double lo = n.scalar[0];
        const double hi = n.scalar[1];
        t.accumulate(n.in[0],
                     zip<2>("clamp", g.shape(), {&g, &n.saved[0]}, [lo, hi](auto gv, auto av) {
                       using T = decltype(gv);
                       return (av >= lo && av <= hi) ? gv : T(0);
                     }));
      },
      a.value(), {}, low, high);
}

// ---- operators ---------------------------------------------------------------------------------

Var operator-(const Var& a) { return neg(a); }
Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator+(const Var& a, double b) { return add(a, b); }
Var operator-(const Var& a, double b) { return sub(a, b); }
Var operator*(const Var& a, double b) { return mul(a, b); }
Var operator/(const Var& a, double b) { return div(a, b); }
Var operator+(double a, const Var& b) { return add(b, a); }
Var operator-(double a, const Var& b) { return sub(a, b); }
Var operator*(double a, const Var& b) { return mul(b, a); }
Var operator/(double a, const Var& b) { return div(a, b); }

}  // namespace affine
