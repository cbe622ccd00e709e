// Differentiable operations on Vars. Each is one function in autograd/src holding its shape
// checks, its forward (a tensor/ kernel) and its vector-Jacobian product side by side.
//
// An op records a node when a Var input is on a tape that is recording and some input requires
// grad; otherwise it returns a constant. Inputs on two different tapes are an error, and so is a
// stale input (from before the tape's clear()). Binary ops broadcast as in ops.hpp; gradients are
// summed back over broadcast dimensions. Shape errors reuse the tensor ops' messages, which name
// the op and both shapes ("add: shapes [3, 4] and [2, 4] cannot be broadcast ...").
#pragma once

#include <cstdint>
#include <vector>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/linear.hpp"
#include "affine/tensor/shape.hpp"
#include "affine/tensor/unary_ops.hpp"

namespace affine {

// ---- elementwise (broadcasting) -------------------------------------------------------------
AFFINE_API Var add(const Var& a, const Var& b);
AFFINE_API Var sub(const Var& a, const Var& b);
AFFINE_API Var mul(const Var& a, const Var& b);
AFFINE_API Var div(const Var& a, const Var& b);
AFFINE_API Var add(const Var& a, double b);
AFFINE_API Var sub(const Var& a, double b);
/// a - b with a scalar a.
AFFINE_API Var sub(double a, const Var& b);
AFFINE_API Var mul(const Var& a, double b);
AFFINE_API Var div(const Var& a, double b);
/// a / b with a scalar a.
AFFINE_API Var div(double a, const Var& b);
// One per row of the unary table (affine/tensor/unary_ops.hpp, which gives each derivative).
#define AFFINE_DECLARE_VAR_UNARY(name, ...) AFFINE_API Var name(const Var& a);
AFFINE_UNARY_OPS(AFFINE_DECLARE_VAR_UNARY)
#undef AFFINE_DECLARE_VAR_UNARY
#define AFFINE_DECLARE_VAR_UNARY_1(name, param, default_value, ...) \
  AFFINE_API Var name(const Var& a, double param default_value);
AFFINE_UNARY_OPS_1(AFFINE_DECLARE_VAR_UNARY_1)
#undef AFFINE_DECLARE_VAR_UNARY_1
#define AFFINE_DECLARE_VAR_UNARY_2(name, p1, d1, p2, d2, ...) \
  AFFINE_API Var name(const Var& a, double p1 d1, double p2 d2);
AFFINE_UNARY_OPS_2(AFFINE_DECLARE_VAR_UNARY_2)
#undef AFFINE_DECLARE_VAR_UNARY_2
/// Gradient 1 where low <= a <= high, else 0.
AFFINE_API Var clamp(const Var& a, double low, double high);

AFFINE_API Var operator-(const Var& a);
AFFINE_API Var operator+(const Var& a, const Var& b);
AFFINE_API Var operator-(const Var& a, const Var& b);
AFFINE_API Var operator*(const Var& a, const Var& b);
AFFINE_API Var operator/(const Var& a, const Var& b);
AFFINE_API Var operator+(const Var& a, double b);
AFFINE_API Var operator-(const Var& a, double b);
AFFINE_API Var operator*(const Var& a, double b);
AFFINE_API Var operator/(const Var& a, double b);
AFFINE_API Var operator+(double a, const Var& b);
AFFINE_API Var operator-(double a, const Var& b);
AFFINE_API Var operator*(double a, const Var& b);
AFFINE_API Var operator/(double a, const Var& b);

// ---- reductions -----------------------------------------------------------------------------
AFFINE_API Var sum(const Var& a);
AFFINE_API Var sum(const Var& a, const Axes& axes, bool keepdim = false);
AFFINE_API Var mean(const Var& a);
AFFINE_API Var mean(const Var& a, const Axes& axes, bool keepdim = false);
/// Maximum along one axis; the gradient goes to the first maximal element.
AFFINE_API Var max(const Var& a, int64_t axis, bool keepdim = false);

// ---- shape ----------------------------------------------------------------------------------
AFFINE_API Var reshape(const Var& a, const Shape& shape);
AFFINE_API Var transpose(const Var& a, int64_t dim0, int64_t dim1);
AFFINE_API Var permute(const Var& a, const Dims& dims);
/// As Tensor::slice.
AFFINE_API Var slice(const Var& a, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
AFFINE_API Var concat(const std::vector<Var>& vars, int64_t dim);

// ---- linear algebra -------------------------------------------------------------------------
/// 2-D or batched 3-D matrix product; backward uses the GEMM's transpose flags, no copies.
AFFINE_API Var matmul(const Var& a, const Var& b);
/// x W^T + b for x [n, in] (or [*, in]: leading dims are flattened), W [out, in], b [out] (b may
/// be undefined: no bias). Fused: forward is one GEMM on W viewed transposed, accumulating onto
/// rows pre-filled with b; backward is dX = dY W, dW = dY^T X (a GEMM that accumulates straight
/// into Parameter::grad) and db = column sums of dY. Throws affine::Error naming "linear" and the
/// shapes when in_features or the bias's size disagree.
AFFINE_API Var linear(const Var& x, const Var& weight, const Var& bias = Var());
/// activation(x W^T + b) recorded as ONE op (torch's linear followed by tanh, sigmoid or relu):
/// the forward applies the activation while each block of rows is in cache (affine::linear's
/// epilogue, bit-identical to the two ops), so the pre-activation is never stored; backward
/// takes the activation's derivative from the output, and when x needs no gradient and the layer
/// has at most 8 inputs, a tanh's derivative is applied inside the dW/db pass, so the
/// pre-activation's gradient is never stored either. nn::Sequential records a Linear followed by
/// Tanh, Sigmoid or ReLU this way. LinearActivation::none is linear(x, weight, bias).
AFFINE_API Var linear(const Var& x, const Var& weight, const Var& bias,
                      LinearActivation activation);
/// linear(tanh(linear(x, W1, b1)), W2, b2, activation) recorded as ONE op: two layers with a
/// tanh between them and an optional activation after. For a narrow input and output (at most 8
/// features each, as the seed's 2-100-2) each block of rows goes through both layers while in
/// cache: forward writes the hidden tanh once (saved for backward); backward is one pass over the
/// rows giving dW2, db2, dW1, db1 (and dx) without storing the hidden layer's gradient, with the
/// same sums as the unfused ops. Other shapes run the two layers' kernels in turn.
/// nn::Sequential records Linear, Tanh, Linear (and a Tanh, Sigmoid or ReLU after) this way.
/// Biases may be undefined. Throws affine::Error naming "linear" and the shapes.
AFFINE_API Var linear_tanh_linear(const Var& x, const Var& w1, const Var& b1, const Var& w2,
                                  const Var& b2,
                                  LinearActivation activation = LinearActivation::none);

// ---- softmax --------------------------------------------------------------------------------
/// exp(a - max) / sum(exp(a - max)) along axis (stable for any input).
AFFINE_API Var softmax(const Var& a, int64_t axis = -1);
/// a - max - log(sum(exp(a - max))) along axis.
AFFINE_API Var log_softmax(const Var& a, int64_t axis = -1);

}  // namespace affine
