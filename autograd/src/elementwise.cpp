// Elementwise ops: forward from tensor/ops.hpp (which checks shapes and dtypes and names the op),
// the vector-Jacobian product right below each one. Broadcast inputs get their gradient summed
// back to their own shape (reduce_to -> sum_to). The derivative factors are fused into one pass
// with the incoming gradient (kernels.hpp), so a VJP costs one read of each operand.
#include <cmath>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/ops.hpp"
#include "kernels.hpp"
#include "tape_impl.hpp"
#include "train_kernels.hpp"

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

// VJP of an activation whose derivative is a function of its output y = saved[0] (tanh,
// sigmoid): one pass over g and y by the kernel, writing into g itself when the tape holds the
// only reference to it (the gradient is single-use; a retained one is kept), so backward through
// an activation allocates nothing. Other layouts take the general zip.
template <class Zip>
void activation_backward(TapeImpl& t, Node& n, const char* op,
                         void (*kf)(int64_t, const float*, const float*, float*),
                         void (*kd)(int64_t, const double*, const double*, double*), Zip zip_f) {
  if (!t.needs_grad(n.in[0])) return;
  const Tensor& g = n.grad;
  const Tensor& y = n.saved[0];
  if (g.dtype() != y.dtype() || g.shape() != y.shape() || !g.is_contiguous() ||
      !y.is_contiguous() || (y.dtype() != DType::f32 && y.dtype() != DType::f64)) {
    t.accumulate(n.in[0], zip<2>(op, g.shape(), {&g, &y}, zip_f));
    return;
  }
  const bool in_place = !n.retain_grad && TensorAccess::storage(g).use_count() == 1;
  Tensor out = in_place ? std::move(n.grad) : Tensor::empty(y.shape(), y.dtype());
  const Tensor& src = in_place ? out : n.grad;
  if (y.dtype() == DType::f32) {
    kf(y.numel(), src.data<float>(), y.data<float>(), out.data<float>());
  } else {
    kd(y.numel(), src.data<double>(), y.data<double>(), out.data<double>());
  }
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

Var neg(const Var& a) {
  detail::require_defined("neg", a);
  return unary("neg", a, affine::neg(a.value()),
               [](TapeImpl& t, Node& n) { t.accumulate(n.in[0], affine::neg(n.grad)); });
}

Var exp(const Var& a) {
  detail::require_defined("exp", a);
  Tensor out = affine::exp(a.value());
  return unary(
      "exp", a, out,
      [](TapeImpl& t, Node& n) {
        t.accumulate(n.in[0], affine::mul(n.grad, n.saved[0]));  // g exp(a) = g out
      },
      out);
}

Var log(const Var& a) {
  detail::require_defined("log", a);
  return unary(
      "log", a, affine::log(a.value()),
      [](TapeImpl& t, Node& n) {
        t.accumulate(n.in[0], affine::div(n.grad, n.saved[0]));  // g / a
      },
      a.value());
}

Var log1p(const Var& a) {
  detail::require_defined("log1p", a);
  return unary(
      "log1p", a, affine::log1p(a.value()),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        t.accumulate(n.in[0], zip<2>("log1p", g.shape(), {&g, &n.saved[0]},
                                     [](auto gv, auto av) { return gv / (1 + av); }));
      },
      a.value());
}

Var pow(const Var& a, double exponent) {
  detail::require_defined("pow", a);
  return unary(
      "pow", a, affine::pow(a.value(), exponent),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        const double e = n.scalar[0];
        t.accumulate(
            n.in[0], zip<2>("pow", g.shape(), {&g, &n.saved[0]}, [e](auto gv, auto av) {
              using T = decltype(gv);
              if (e == 0) return T(0);
              return static_cast<T>(gv * e * std::pow(av, static_cast<T>(e - 1)));  // g e a^(e-1)
            }));
      },
      a.value(), {}, exponent);
}

Var sqrt(const Var& a) {
  detail::require_defined("sqrt", a);
  Tensor out = affine::sqrt(a.value());
  return unary(
      "sqrt", a, out,
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        t.accumulate(n.in[0], zip<2>("sqrt", g.shape(), {&g, &n.saved[0]}, [](auto gv, auto y) {
                       return gv / (2 * y);
                     }));  // g / 2 sqrt(a)
      },
      out);
}

Var abs(const Var& a) {
  detail::require_defined("abs", a);
  return unary(
      "abs", a, affine::abs(a.value()),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        t.accumulate(n.in[0], zip<2>("abs", g.shape(), {&g, &n.saved[0]}, [](auto gv, auto av) {
                       using T = decltype(gv);
                       return av > 0 ? gv : (av < 0 ? -gv : T(0));  // g sign(a), 0 at 0
                     }));
      },
      a.value());
}

void detail::tanh_vjp(TapeImpl& t, Node& n) {
  if (n.vjp_applied) {  // linear's backward already multiplied by 1 - y^2 (linalg.cpp)
    t.accumulate(n.in[0], std::move(n.grad));
    return;
  }
  activation_backward(t, n, "tanh", &detail::train::tanh_backward<float>,
                      &detail::train::tanh_backward<double>,
                      [](auto gv, auto y) { return gv * (1 - y * y); });
}

Var tanh(const Var& a) {
  detail::require_defined("tanh", a);
  Tensor out = affine::tanh(a.value());
  return unary("tanh", a, out, &detail::tanh_vjp, out);
}

Var sigmoid(const Var& a) {
  detail::require_defined("sigmoid", a);
  Tensor out = affine::sigmoid(a.value());
  return unary(
      "sigmoid", a, out,
      [](TapeImpl& t, Node& n) {
        activation_backward(t, n, "sigmoid", &detail::train::sigmoid_backward<float>,
                            &detail::train::sigmoid_backward<double>,
                            [](auto gv, auto y) { return gv * y * (1 - y); });
      },
      out);
}

Var relu(const Var& a) {
  detail::require_defined("relu", a);
  return unary(
      "relu", a, affine::relu(a.value()),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        t.accumulate(n.in[0], zip<2>("relu", g.shape(), {&g, &n.saved[0]}, [](auto gv, auto av) {
                       using T = decltype(gv);
                       return av > 0 ? gv : T(0);
                     }));
      },
      a.value());
}

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
