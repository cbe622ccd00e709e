// Internal: one node for an op with several outputs. The outputs are packed along one last axis
// ([..., total], each flattened per batch element) as the node's value, and the op returns
// differentiable slices of it; so one VJP sees every output's gradient (zeros for an output
// nobody used) and a multi-output op needs no special tape support.
#pragma once

#include <initializer_list>
#include <utility>
#include <vector>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/ops.hpp"

namespace affine::detail {

/// The batch dimensions of t followed by -1: the shape that flattens each matrix.
inline Shape flat_shape(const Tensor& t, int trailing) {
  Shape s;
  for (int d = 0; d < t.rank() - trailing; ++d) s.push_back(t.size(d));
  s.push_back(-1);
  return s;
}

/// The outputs (each with its count of trailing, per-matrix dimensions) packed along one axis.
inline Tensor pack(std::initializer_list<std::pair<Tensor, int>> parts) {
  std::vector<Tensor> flat;
  for (const auto& [t, trailing] : parts) flat.push_back(t.reshape(flat_shape(t, trailing)));
  return concat(flat, -1);
}
/// The output of `shape` that starts at `begin` in the packed p, as a differentiable slice.
inline Var unpack(const Var& p, int64_t begin, const Shape& shape) {
  int64_t count = 1;
  for (int d = p.rank() - 1; d < shape.size(); ++d) count *= shape[d];
  return reshape(slice(p, p.rank() - 1, begin, begin + count), shape);
}
/// The same slice of a packed gradient (in a VJP).
inline Tensor unpack(const Tensor& p, int64_t begin, const Shape& shape) {
  int64_t count = 1;
  for (int d = p.rank() - 1; d < shape.size(); ++d) count *= shape[d];
  return p.narrow(-1, begin, count).reshape(shape);
}

}  // namespace affine::detail
