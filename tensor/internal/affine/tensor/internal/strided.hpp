// Internal: walking the elements of one or several strided tensors of a common shape.
//
// Every op must accept transposed, sliced and expanded (stride-0) inputs. Rather than each kernel
// keeping its own N-D counter, kernels describe their operands as (shape, strides) and get called
// once per innermost *row* with element offsets and the row's strides, so the hot inner loop is a
// plain 1-D loop the compiler can vectorise when the strides are 1:
//
//   std::array<Strides, 3> st{out.strides(), a_exp.strides(), b_exp.strides()};
//   detail::for_each_row<3>(out.shape(), st, [&](const detail::Offsets<3>& off, int64_t n,
//                                                const detail::Offsets<3>& inc) {
//     T* o = po + off[0]; const T* x = pa + off[1]; const T* y = pb + off[2];
//     if (inc[0] == 1 && inc[1] == 1 && inc[2] == 1) { for (i...) o[i] = x[i] + y[i]; }
//     else { for (i...) o[i * inc[0]] = x[i * inc[1]] + y[i * inc[2]]; }
//   });
//
// Dimensions are coalesced first (size-1 dims dropped; neighbours merged when every operand's
// strides allow it), so a contiguous tensor of any rank becomes one long row. Offsets and strides
// are in elements, relative to each tensor's data<T>() pointer (i.e. offset() already applied).
// Rows are visited in row-major order of the shape; a row range [row_begin, row_end) lets callers
// split the work across threads deterministically. A zero-size shape visits nothing; rank 0 visits
// one row of length 1.
#pragma once

#include <array>
#include <cstdint>

#include "affine/tensor/shape.hpp"

namespace affine::detail {

template <int N>
using Offsets = std::array<int64_t, N>;

/// A common shape with N operands' strides, after coalescing.
template <int N>
struct StridedLayout {
  Shape shape;
  std::array<Strides, N> strides;
  /// Number of innermost rows (product of all but the last dim; 1 for rank 0); 0 if empty.
  int64_t rows = 0;
  /// Length of each row (last dim; 1 for rank 0); 0 if empty.
  int64_t row_length = 0;
};

/// Drops size-1 dims and merges adjacent dims whose strides are compatible in every operand.
/// A shape with a zero dimension yields rows == 0.
template <int N>
StridedLayout<N> coalesce(const Shape& shape, const std::array<Strides, N>& strides) {
  StridedLayout<N> out;
  for (int64_t d : shape) {
    if (d == 0) return out;  // rows == row_length == 0: nothing to visit
  }
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const int p = out.shape.size() - 1;
    bool merge = p >= 0;
    for (int k = 0; k < N && merge; ++k) {
      merge = out.strides[k][p] == strides[k][d] * shape[d];
    }
    if (merge) {
      out.shape[p] *= shape[d];
      for (int k = 0; k < N; ++k) out.strides[k][p] = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (int k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  const int r = out.shape.size();
  if (r == 0) {
    out.rows = 1;
    out.row_length = 1;
    return out;
  }
  out.row_length = out.shape[r - 1];
  out.rows = 1;
  for (int d = 0; d < r - 1; ++d) out.rows *= out.shape[d];
  return out;
}

/// Calls row(offsets, n, inc) for rows [row_begin, row_end) of a coalesced layout (row_end < 0
/// means all rows): offsets of the row's first element per operand, its length n, and each
/// operand's step inside the row.
template <int N, class Row>
void for_each_row(const StridedLayout<N>& lay, Row&& row, int64_t row_begin = 0,
                  int64_t row_end = -1) {
  if (row_end < 0 || row_end > lay.rows) row_end = lay.rows;
  if (row_begin >= row_end) return;
  const int r = lay.shape.size();
  Offsets<N> inc{};
  if (r > 0) {
    for (int k = 0; k < N; ++k) inc[k] = lay.strides[k][r - 1];
  }
  const int outer = r > 0 ? r - 1 : 0;
  // Decompose row_begin into a multi-index over the outer dims (row-major).
  std::array<int64_t, kMaxRank> idx{};
  Offsets<N> off{};
  int64_t rem = row_begin;
  for (int d = outer - 1; d >= 0; --d) {
    idx[d] = rem % lay.shape[d];
    rem /= lay.shape[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * lay.strides[k][d];
  }
  for (int64_t i = row_begin; i < row_end; ++i) {
    row(off, lay.row_length, inc);
    // Odometer increment of the outer index, updating offsets incrementally.
    for (int d = outer - 1; d >= 0; --d) {
      if (++idx[d] < lay.shape[d]) {
        for (int k = 0; k < N; ++k) off[k] += lay.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < N; ++k) off[k] -= (lay.shape[d] - 1) * lay.strides[k][d];
    }
  }
}

/// Coalesces, then visits every row (see above).
template <int N, class Row>
void for_each_row(const Shape& shape, const std::array<Strides, N>& strides, Row&& row) {
  for_each_row<N>(coalesce<N>(shape, strides), row);
}

/// Calls fn(offset) for every element of one strided tensor, in row-major order.
template <class Fn>
void for_each_offset(const Shape& shape, const Strides& strides, Fn&& fn) {
  for_each_row<1>(shape, std::array<Strides, 1>{strides},
                  [&](const Offsets<1>& off, int64_t n, const Offsets<1>& inc) {
                    for (int64_t i = 0; i < n; ++i) fn(off[0] + i * inc[0]);
                  });
}

/// Strides of a tensor (shape, strides) seen as broadcast to `out` (NumPy rules, aligned at the
/// right; missing and size-1 dims get stride 0). The caller has checked the shapes broadcast.
inline Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& out) {
  Strides res = Dims::filled(out.size(), 0);
  const int shift = out.size() - shape.size();
  for (int d = 0; d < shape.size(); ++d) {
    res[d + shift] = shape[d] == 1 ? 0 : strides[d];
  }
  return res;
}

}  // namespace affine::detail
