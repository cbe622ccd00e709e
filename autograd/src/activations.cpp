// GELU, LeakyReLU, Softplus and SiLU: each a fused elementwise forward and a VJP that computes
// the derivative from the saved input in the same pass as the multiplication by the gradient.
#include <cmath>
#include <utility>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/scalar_math.hpp"
#include "kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::OpTape;
using detail::TapeImpl;
using detail::zip;

namespace {

// Records y = f(x) with saved[0] = x and scalar = the op's parameters.
Var activation(const char* op, const Var& x, Tensor out, detail::BackwardFn fn, double c0 = 0,
               double c1 = 0) {
  OpTape rec = detail::op_begin(op, {&x});
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, fn, {&x});
  n.saved[0] = x.value();
  n.scalar = {c0, c1};
  return rec.var;
}

// The four functions and their derivatives, for T = float or double.
template <class T>
T gelu_of(T x) {
  return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
}
template <class T>
T gelu_slope(T x) {
  // Phi(x) + x phi(x)
  const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
  const T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
  return cdf + x * pdf;
}
template <class T>
T softplus_of(T x, T beta, T threshold) {
  return x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta;
}
template <class T>
T softplus_slope(T x, T beta, T threshold) {
  return x * beta > threshold ? T(1) : detail::stable_sigmoid(x * beta);
}

}  // namespace

Var gelu(const Var& x) {
  detail::require_defined("gelu", x);
  const Tensor& xv = x.value();
  Tensor out = zip<1>("gelu", xv.shape(), {&xv}, [](auto v) { return gelu_of(v); });
  return activation("gelu", x, std::move(out), [](TapeImpl& t, Node& n) {
    const Tensor& g = n.grad;
    t.accumulate(n.in[0], zip<2>("gelu", g.shape(), {&g, &n.saved[0]},
                                 [](auto gv, auto xv2) { return gv * gelu_slope(xv2); }));
  });
}

Var leaky_relu(const Var& x, double negative_slope) {
  detail::require_defined("leaky_relu", x);
  const Tensor& xv = x.value();
  Tensor out = zip<1>("leaky_relu", xv.shape(), {&xv}, [negative_slope](auto v) {
    using T = decltype(v);
    return v > 0 ? v : v * static_cast<T>(negative_slope);
  });
  return activation(
      "leaky_relu", x, std::move(out),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        const double slope = n.scalar[0];
        t.accumulate(n.in[0],
                     zip<2>("leaky_relu", g.shape(), {&g, &n.saved[0]}, [slope](auto gv, auto v) {
                       using T = decltype(gv);
                       return v > 0 ? gv : gv * static_cast<T>(slope);
                     }));
      },
      negative_slope);
}

Var softplus(const Var& x, double beta, double threshold) {
  detail::require_defined("softplus", x);
  if (!(beta != 0) || std::isnan(threshold)) {
    throw Error("softplus: beta must be nonzero and threshold a number, got beta " +
                std::to_string(beta) + ", threshold " + std::to_string(threshold));
  }
  const Tensor& xv = x.value();
  Tensor out = zip<1>("softplus", xv.shape(), {&xv}, [beta, threshold](auto v) {
    using T = decltype(v);
    return softplus_of(v, static_cast<T>(beta), static_cast<T>(threshold));
  });
  return activation(
      "softplus", x, std::move(out),
      [](TapeImpl& t, Node& n) {
        const Tensor& g = n.grad;
        const double b = n.scalar[0];
        const double th = n.scalar[1];
        t.accumulate(n.in[0],
                     zip<2>("softplus", g.shape(), {&g, &n.saved[0]}, [b, th](auto gv, auto v) {
                       using T = decltype(gv);
                       return gv * softplus_slope(v, static_cast<T>(b), static_cast<T>(th));
                     }));
      },
      beta, threshold);
}

Var silu(const Var& x) {
  detail::require_defined("silu", x);
  const Tensor& xv = x.value();
  Tensor out =
      zip<1>("silu", xv.shape(), {&xv}, [](auto v) { return v * detail::stable_sigmoid(v); });
  return activation("silu", x, std::move(out), [](TapeImpl& t, Node& n) {
    const Tensor& g = n.grad;
    t.accumulate(n.in[0], zip<2>("silu", g.shape(), {&g, &n.saved[0]}, [](auto gv, auto v) {
                   using T = decltype(gv);
                   const T s = detail::stable_sigmoid(v);
                   return gv * s * (T(1) + v * (T(1) - s));
                 }));
  });
}

}  // namespace affine
