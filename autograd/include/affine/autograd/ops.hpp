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
#include "affine/tensor/shape.hpp"

namespace affine {

// ---- elementwise (broadcasting) -------------------------------------------------------------
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add(const Var& a, double b);
Var sub(const Var& a, double b);
/// a - b with a scalar a.
Var sub(double a, const Var& b);
Var mul(const Var& a, double b);
Var div(const Var& a, double b);
/// a / b with a scalar a.
Var div(double a, const Var& b);
Var neg(const Var& a);
Var exp(const Var& a);
Var log(const Var& a);
Var log1p(const Var& a);
/// a ** exponent for a scalar exponent.
Var pow(const Var& a, double exponent);
Var sqrt(const Var& a);
/// Gradient sign(a) (0 at 0).
Var abs(const Var& a);
Var tanh(const Var& a);
Var sigmoid(const Var& a);
/// Gradient 1 where a > 0, else 0.
Var relu(const Var& a);
/// Gradient 1 where low <= a <= high, else 0.
Var clamp(const Var& a, double low, double high);

Var operator-(const Var& a);
Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator+(const Var& a, double b);
Var operator-(const Var& a, double b);
Var operator*(const Var& a, double b);
Var operator/(const Var& a, double b);
Var operator+(double a, const Var& b);
Var operator-(double a, const Var& b);
Var operator*(double a, const Var& b);
Var operator/(double a, const Var& b);

// ---- reductions -----------------------------------------------------------------------------
Var sum(const Var& a);
Var sum(const Var& a, const Axes& axes, bool keepdim = false);
Var mean(const Var& a);
Var mean(const Var& a, const Axes& axes, bool keepdim = false);
/// Maximum along one axis; the gradient goes to the first maximal element.
Var max(const Var& a, int64_t axis, bool keepdim = false);

// ---- shape ----------------------------------------------------------------------------------
Var reshape(const Var& a, const Shape& shape);
Var transpose(const Var& a, int64_t dim0, int64_t dim1);
Var permute(const Var& a, const Dims& dims);
/// As Tensor::slice.
Var slice(const Var& a, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Var concat(const std::vector<Var>& vars, int64_t dim);

// ---- linear algebra -------------------------------------------------------------------------
/// 2-D or batched 3-D matrix product; backward uses the GEMM's transpose flags, no copies.
Var matmul(const Var& a, const Var& b);
/// x W^T + b for x [n, in] (or [*, in]: leading dims are flattened), W [out, in], b [out] (b may
/// be undefined: no bias). Fused: forward is one GEMM on W viewed transposed, accumulating onto
/// rows pre-filled with b; backward is dX = dY W, dW = dY^T X (a GEMM that accumulates straight
/// into Parameter::grad) and db = column sums of dY. Throws affine::Error naming "linear" and the
/// shapes when in_features or the bias's size disagree.
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

// ---- softmax --------------------------------------------------------------------------------
/// exp(a - max) / sum(exp(a - max)) along axis (stable for any input).
Var softmax(const Var& a, int64_t axis = -1);
/// a - max - log(sum(exp(a - max))) along axis.
Var log_softmax(const Var& a, int64_t axis = -1);

}  // namespace affine
