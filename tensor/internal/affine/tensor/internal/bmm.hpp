// Internal (tensor and autograd): matrix products over broadcast batch dimensions, for the linalg
// functions composed of
// tensor ops and their VJPs (Tensor matmul itself takes 2-D or equal 3-D batches).
#pragma once

#include "affine/tensor/ops.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail::linalg {

/// The last two dimensions swapped (a view).
inline Tensor mT(const Tensor& t) { return t.transpose(-1, -2); }

/// a @ b for a [..., m, k], b [..., k, n] with broadcasting batch dimensions.
inline Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a.rank() == 2 && b.rank() == 2) return matmul(a, b);
  Shape ba, bb;
  for (int d = 0; d < a.rank() - 2; ++d) ba.push_back(a.size(d));
  for (int d = 0; d < b.rank() - 2; ++d) bb.push_back(b.size(d));
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape sa = batch, sb = batch, so = batch;
  for (int64_t x : {a.size(-2), a.size(-1)}) sa.push_back(x);
  for (int64_t x : {b.size(-2), b.size(-1)}) sb.push_back(x);
  for (int64_t x : {a.size(-2), b.size(-1)}) so.push_back(x);
  const Tensor a3 = a.expand(sa).reshape({-1, a.size(-2), a.size(-1)});
  const Tensor b3 = b.expand(sb).reshape({-1, b.size(-2), b.size(-1)});
  return matmul(a3, b3).reshape(so);
}

}  // namespace affine::detail::linalg
