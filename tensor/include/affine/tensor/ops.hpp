// Arithmetic on tensors: elementwise operations with NumPy broadcasting, reductions, matmul.
//
// dtypes: both operands of a binary op must have the same floating dtype (float32 or float64);
// affine does not promote silently, it throws affine::Error naming the op and both dtypes (convert
// with Tensor::to). A double scalar takes the tensor's dtype. int64 tensors support no arithmetic,
// only comparisons (two int64 tensors, or int64 with a double, compared as doubles).
// Every op accepts strided, sliced and expanded inputs and returns a new contiguous tensor.
// Masks (results of comparisons) are 0/1 in the operands' dtype: for int64 labels,
// `mean(eq(argmax(logits, 1), y).to(DType::f64))` is the accuracy.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "affine/tensor/export.hpp"
#include "affine/tensor/tensor.hpp"
#include "affine/tensor/unary_ops.hpp"

namespace affine {

/// The shape both a and b broadcast to (NumPy rules); throws affine::Error naming op otherwise:
/// "add: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)".
AFFINE_API Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

// ---- binary elementwise (broadcasting) -----------------------------------------------------
AFFINE_API Tensor add(const Tensor& a, const Tensor& b);
AFFINE_API Tensor sub(const Tensor& a, const Tensor& b);
AFFINE_API Tensor mul(const Tensor& a, const Tensor& b);
AFFINE_API Tensor div(const Tensor& a, const Tensor& b);
/// a ** b elementwise (std::pow semantics).
AFFINE_API Tensor pow(const Tensor& a, const Tensor& b);
AFFINE_API Tensor minimum(const Tensor& a, const Tensor& b);
AFFINE_API Tensor maximum(const Tensor& a, const Tensor& b);

// Scalar variants: the scalar takes the tensor's dtype.
AFFINE_API Tensor add(const Tensor& a, double b);
AFFINE_API Tensor sub(const Tensor& a, double b);
/// b - a.
AFFINE_API Tensor sub(double a, const Tensor& b);
AFFINE_API Tensor mul(const Tensor& a, double b);
AFFINE_API Tensor div(const Tensor& a, double b);
/// a / b elementwise.
AFFINE_API Tensor div(double a, const Tensor& b);
AFFINE_API Tensor minimum(const Tensor& a, double b);
AFFINE_API Tensor maximum(const Tensor& a, double b);

// ---- comparisons (to 0/1 masks) and selection -----------------------------------------------
AFFINE_API Tensor eq(const Tensor& a, const Tensor& b);
AFFINE_API Tensor ne(const Tensor& a, const Tensor& b);
AFFINE_API Tensor lt(const Tensor& a, const Tensor& b);
AFFINE_API Tensor le(const Tensor& a, const Tensor& b);
AFFINE_API Tensor gt(const Tensor& a, const Tensor& b);
AFFINE_API Tensor ge(const Tensor& a, const Tensor& b);
AFFINE_API Tensor eq(const Tensor& a, double b);
AFFINE_API Tensor ne(const Tensor& a, double b);
AFFINE_API Tensor lt(const Tensor& a, double b);
AFFINE_API Tensor le(const Tensor& a, double b);
AFFINE_API Tensor gt(const Tensor& a, double b);
AFFINE_API Tensor ge(const Tensor& a, double b);
/// Elementwise: a where mask != 0, else b; the three broadcast together.
AFFINE_API Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

// ---- unary elementwise: one row each in unary_ops.hpp (formulas and derivatives there) -------
#define AFFINE_DECLARE_UNARY(name, ...) AFFINE_API Tensor name(const Tensor& a);
AFFINE_UNARY_OPS(AFFINE_DECLARE_UNARY)
#undef AFFINE_DECLARE_UNARY
#define AFFINE_DECLARE_UNARY_1(name, param, default_value, ...) \
  AFFINE_API Tensor name(const Tensor& a, double param default_value);
AFFINE_UNARY_OPS_1(AFFINE_DECLARE_UNARY_1)
#undef AFFINE_DECLARE_UNARY_1
#define AFFINE_DECLARE_UNARY_2(name, p1, d1, p2, d2, ...) \
  AFFINE_API Tensor name(const Tensor& a, double p1 d1, double p2 d2);
AFFINE_UNARY_OPS_2(AFFINE_DECLARE_UNARY_2)
#undef AFFINE_DECLARE_UNARY_2
/// min(max(a, low), high); requires low <= high.
AFFINE_API Tensor clamp(const Tensor& a, double low, double high);

// ---- C++ operators --------------------------------------------------------------------------
AFFINE_API Tensor operator-(const Tensor& a);
AFFINE_API Tensor operator+(const Tensor& a, const Tensor& b);
AFFINE_API Tensor operator-(const Tensor& a, const Tensor& b);
AFFINE_API Tensor operator*(const Tensor& a, const Tensor& b);
AFFINE_API Tensor operator/(const Tensor& a, const Tensor& b);
AFFINE_API Tensor operator+(const Tensor& a, double b);
AFFINE_API Tensor operator-(const Tensor& a, double b);
AFFINE_API Tensor operator*(const Tensor& a, double b);
AFFINE_API Tensor operator/(const Tensor& a, double b);
AFFINE_API Tensor operator+(double a, const Tensor& b);
AFFINE_API Tensor operator-(double a, const Tensor& b);
AFFINE_API Tensor operator*(double a, const Tensor& b);
AFFINE_API Tensor operator/(double a, const Tensor& b);

// ---- reductions -----------------------------------------------------------------------------
// Axes may be negative and must be distinct. Reducing a zero-size dimension: sum gives 0, mean
// NaN (as NumPy), max/min/argmax throw affine::Error. Sums accumulate in double.
/// Sum of all elements (rank-0 result).
AFFINE_API Tensor sum(const Tensor& a);
AFFINE_API Tensor sum(const Tensor& a, const Axes& axes, bool keepdim = false);
AFFINE_API Tensor mean(const Tensor& a);
AFFINE_API Tensor mean(const Tensor& a, const Axes& axes, bool keepdim = false);
AFFINE_API Tensor max(const Tensor& a);
AFFINE_API Tensor max(const Tensor& a, const Axes& axes, bool keepdim = false);
AFFINE_API Tensor min(const Tensor& a);
AFFINE_API Tensor min(const Tensor& a, const Axes& axes, bool keepdim = false);
/// Maximum along one axis. (Also keeps max(t, {0}) unambiguous next to autograd's Var overload.)
AFFINE_API Tensor max(const Tensor& a, int64_t axis, bool keepdim = false);
/// Minimum along one axis.
AFFINE_API Tensor min(const Tensor& a, int64_t axis, bool keepdim = false);
/// Index of the first largest element over the flattened tensor (int64, rank 0).
AFFINE_API Tensor argmax(const Tensor& a);
/// Indices of the first largest elements along axis (int64).
AFFINE_API Tensor argmax(const Tensor& a, int64_t axis, bool keepdim = false);
/// Sums a tensor down to shape (the reverse of broadcasting it there): used by gradients.
AFFINE_API Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- joining --------------------------------------------------------------------------------
/// Joins tensors of equal dtype and shapes equal except along dim.
AFFINE_API Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
/// concat({a, b}, dim) for tensors (a braced list would otherwise also fit autograd's Var form).
inline Tensor concat(std::initializer_list<Tensor> tensors, int64_t dim) {
  return concat(std::vector<Tensor>(tensors), dim);
}

// ---- matrix products ------------------------------------------------------------------------
/// Matrix product of [m, k] x [k, n], or batched [b, m, k] x [b, k, n] (a batch of 1 broadcasts;
/// a 2-D operand is shared by every batch). Runs on the fast GEMM; views are passed by stride.
AFFINE_API Tensor matmul(const Tensor& a, const Tensor& b);
/// The same product by a plain triple loop accumulating in double: slow, simple, the test oracle.
AFFINE_API Tensor matmul_reference(const Tensor& a, const Tensor& b);

// ---- comparison for tests -------------------------------------------------------------------
/// True when shapes are equal and |a - b| <= atol + rtol * |b| everywhere (NaN equal to NaN only
/// when equal_nan). dtypes may differ.
AFFINE_API bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
                         bool equal_nan = false);

}  // namespace affine
