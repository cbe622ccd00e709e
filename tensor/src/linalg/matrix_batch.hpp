// Internal: what every spectral function does around its kernels: check the input is a (batch
// of) matrix, walk the batch, copy each matrix into a column-major work buffer and back, scale it
// by a power of two, screen NaN/Inf.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "affine/tensor/error.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail::linalg {

/// Throws unless A is a float tensor of rank >= 2: "svd: expected a matrix or a batch of
/// matrices (rank >= 2), got shape [3]".
inline void require_matrix(const char* op, const Tensor& A) {
  if (!A.defined()) throw Error(std::string(op) + ": the input tensor is undefined");
  if (A.rank() < 2) {
    throw Error(std::string(op) +
                ": expected a matrix or a batch of matrices (rank >= 2), got shape " +
                to_string(A.shape()));
  }
  if (A.dtype() == DType::i64) {
    throw Error(std::string(op) + ": expected float32 or float64, got int64 (convert with to())");
  }
}

/// require_matrix plus squareness: "eigh: expected a square matrix, got shape [2, 3]".
inline void require_square(const char* op, const Tensor& A) {
  require_matrix(op, A);
  if (A.size(-1) != A.size(-2)) {
    throw Error(std::string(op) + ": expected a square matrix (or a batch of them), got shape " +
                to_string(A.shape()));
  }
}

/// A's shape without its last `drop` dimensions, with `extra` appended.
inline Shape batch_shape(const Tensor& A, std::initializer_list<int64_t> extra, int drop = 2) {
  Shape s;
  for (int i = 0; i < A.rank() - drop; ++i) s.push_back(A.shape()[i]);
  for (int64_t x : extra) s.push_back(x);
  return s;
}

/// Number of matrices in the batch of A [..., m, n].
inline int64_t batch_count(const Tensor& A) {
  int64_t b = 1;
  for (int i = 0; i < A.rank() - 2; ++i) b *= A.shape()[i];
  return b;
}

/// The power of two that brings the largest |entry| into [0.5, 1): multiplying by it is exact,
/// and keeps the iterations far from overflow and underflow. 1 for a zero matrix.
template <class T>
T unit_scale(T max_abs) {
  if (max_abs == T(0)) return T(1);
  int exponent = 0;
  std::frexp(max_abs, &exponent);
  return std::ldexp(T(1), -exponent);
}

}  // namespace affine::detail::linalg
