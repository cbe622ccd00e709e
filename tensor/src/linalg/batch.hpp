// Internal: argument checks and batch iteration shared by the affine::linalg Tensor functions.
//
// A linalg function copies its operand into a fresh contiguous working tensor (the factorization
// overwrites it), then runs one single-matrix kernel (factor.hpp) per matrix of the batch.
// for_each_matrix threads over the batch; with one matrix the kernels' GEMMs use the threads
// instead (a GEMM inside a batch task runs on that task's thread). Either way every matrix is
// computed by the same sequence of operations, so results are bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "affine/tensor/tensor.hpp"
#include "linalg/matview.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg {

/// Throws unless t is a float32/float64 tensor of rank >= 2 ("<op>: <name> must be ...").
void check_matrix(const char* op, const Tensor& t, const char* name = "A");
/// check_matrix, plus the last two dimensions equal.
void check_square(const char* op, const Tensor& t, const char* name = "A");
/// Throws unless a and b have the same dtype (affine does not promote).
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);

/// All dimensions but the last `trailing` (the batch shape).
Shape batch_shape(const Tensor& t, int trailing = 2);
/// batch followed by tail.
Shape concat_shape(const Shape& batch, std::initializer_list<int64_t> tail);

/// Element offsets (from t.data()) of each of the batch_count(batch) trailing blocks of t, in
/// row-major order of `batch`, with t broadcast to batch + its trailing dims (broadcast blocks
/// repeat offsets). t's trailing `trailing` dims must be dense row-major (contiguous() makes
/// them so).
std::vector<int64_t> block_offsets(const Tensor& t, const Shape& batch, int trailing = 2);

/// A fresh contiguous copy of t broadcast to shape (never shares t's storage).
Tensor fresh_copy(const Tensor& t, const Shape& shape);

/// " (batch element i)" when the batch holds more than one matrix, else "": appended to
/// error messages about one matrix of a batch.
std::string batch_suffix(int64_t index, int64_t count);

/// Runs fn(b) for every b in [0, count): threaded over the batch when count > 1.
template <class F>
void for_each_matrix(int64_t count, const F& fn) {
  parallel_for(count, fn);
}

/// for_each_matrix with state that lives across matrices: each chunk of consecutive matrices (a
/// few per thread) calls make() once, then fn(state, b) for each of its matrices, so a kernel's
/// buffers are allocated once per chunk rather than once per matrix (which, for a batch of 3 x 3
/// matrices, took more time than the arithmetic).
template <class Make, class F>
void for_each_matrix_with(int64_t count, const Make& make, const F& fn) {
  parallel_for_range(count, 1, [&](int64_t b0, int64_t b1) {
    auto state = make();
    for (int64_t b = b0; b < b1; ++b) fn(state, b);
  });
}

/// The n x n row-major matrix b of a contiguous [..., n, n]-shaped buffer.
template <class T>
Mat<T> matrix_at(T* base, int64_t offset, int64_t rows, int64_t cols) {
  return rowmajor(base + offset, rows, cols, cols);
}

}  // namespace affine::detail::linalg
