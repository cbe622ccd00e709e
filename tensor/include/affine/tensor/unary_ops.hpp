// The elementwise unary ops of affine, one row each. Every layer expands these tables:
//   tensor/    declares affine::NAME(const Tensor&) (ops.hpp) and builds its forward loop and its
//              backward kernel from the row (tensor/src/elementwise.cpp);
//   autograd/  declares affine::NAME(const Var&) (autograd/ops.hpp) and records it with a VJP that
//              calls the row's backward kernel (autograd/src/elementwise.cpp);
//   nn/        an activation module is one line over nn::Activation or nn::ParametricActivation
//              (nn/layers.hpp, nn/activation.hpp).
//
// Adding an op (say softsign) is one row here plus one gradcheck line in tests/gradcheck_test.cpp
// (and, for an activation module, one AFFINE_NN_ACTIVATION line in nn/activation.hpp):
//
//   X(softsign, x / (T(1) + std::abs(x)), g / ((T(1) + std::abs(x)) * (T(1) + std::abs(x))), x,
//     loop)
//
// Columns of AFFINE_UNARY_OPS, X(name, f, vjp, saved, f32):
//   name   PyTorch's name of the op.
//   f      the function, an expression in `x` of element type T (float or double).
//   vjp    the vector-Jacobian product: the gradient of the input given `g`, the gradient of the
//          output, as an expression in g and the saved value (type T).
//   saved  `x` (the input) or `y` (the output, f(x)): the one value backward keeps and vjp reads.
//          Prefer y when the derivative is a function of the output (tanh, sigmoid, exp).
//   f32    how float32 runs: `loop` (a plain loop over f and vjp, auto-vectorised), `vmath`
//          (forward rows use the vectorised float32 kernel of the same name in vmath), `vmath_bw`
//          (forward and backward rows both do: NAME and NAME_backward in vmath). float64 always
//          runs the expressions, so gradcheck compares against the plain formulas.
// Expressions may call std:: math, stable_sigmoid(x) (overflow-free 1 / (1 + exp(-x))) and use T.
// NaN must propagate through f (write `x < 0 ? 0 : x`, not `x > 0 ? x : 0`).
//
// AFFINE_UNARY_OPS_1 holds ops with one scalar parameter, X(name, param, default, f, vjp, saved):
// `param` is the parameter's name (a double in the signature, a T in the expressions), `default`
// is its default as `= value` or empty for none. They run as `loop`.
//
// AFFINE_UNARY_OPS_2 holds ops with two, X(name, p1, d1, p2, d2, valid, requirement, f, vjp,
// saved): p1, p2 and their defaults as above; `valid`, an expression in p1 and p2 (doubles), must
// hold, else the op throws affine::Error "NAME: <requirement>, got P1 <p1>, P2 <p2>".
//
// gelu is the exact (erf) form x Phi(x), with derivative Phi(x) + x phi(x); silu is x sigmoid(x)
// (swish); softplus is log(1 + exp(beta x)) / beta, and x itself where beta x > threshold.
#pragma once

// clang-format off
#define AFFINE_UNARY_OPS(X)                                                                       \
  X(neg,     -x,                   -g,                                              x, loop)      \
  X(abs,     std::abs(x),          x > T(0) ? g : (x < T(0) ? -g : T(0)),           x, loop)      \
  X(exp,     std::exp(x),          g * y,                                           y, vmath)     \
  X(log,     std::log(x),          g / x,                                           x, vmath)     \
  X(log1p,   std::log1p(x),        g / (T(1) + x),                                  x, vmath)     \
  X(sqrt,    std::sqrt(x),         g / (T(2) * y),                                  y, loop)      \
  X(square,  x * x,                g * T(2) * x,                                    x, loop)      \
  X(tanh,    std::tanh(x),         g * (T(1) - y * y),                              y, vmath_bw)  \
  X(sigmoid, stable_sigmoid(x),    g * y * (T(1) - y),                              y, vmath_bw)  \
  X(relu,    x < T(0) ? T(0) : x,  x > T(0) ? g : T(0),                             x, loop)      \
  X(gelu,    T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440))),                      \
             g * (T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440))) +                     \
                  x * (std::exp(T(-0.5) * x * x) * T(0.39894228040143267794))),     x, loop)      \
  X(silu,    x * stable_sigmoid(x),                                                               \
             g * stable_sigmoid(x) * (T(1) + x * (T(1) - stable_sigmoid(x))),  x, loop)

#define AFFINE_UNARY_OPS_1(X)                                                                     \
  X(pow, exponent, ,                                                                              \
    exponent == T(2) ? x * x : std::pow(x, exponent),                                             \
    exponent == T(0) ? T(0) : g * exponent * std::pow(x, exponent - T(1)),                  x)    \
  X(leaky_relu, negative_slope, = 0.01,                                                           \
    x > T(0) ? x : x * negative_slope,  x > T(0) ? g : g * negative_slope,                  x)

#define AFFINE_UNARY_OPS_2(X)                                                                     \
  X(softplus, beta, = 1, threshold, = 20,                                                         \
    beta != 0 && !std::isnan(threshold), "beta must be nonzero and threshold a number",           \
    x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta,                             \
    x * beta > threshold ? g : g * stable_sigmoid(x * beta),                                x)
// clang-format on
