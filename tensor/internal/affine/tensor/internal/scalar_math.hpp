// Scalar formulas shared by the tensor kernels and the autograd VJPs, so each is written once.
#pragma once

#include <cmath>

namespace affine::detail {

/// 1 / (1 + exp(-x)) from one exp of -|x|, which lies in (0, 1]: neither branch can overflow.
/// At x = -1e4 it underflows to 0 and the result is 0; at +1e4 the result is exactly 1.
template <class T>
T stable_sigmoid(T x) {
  const T e = std::exp(-std::abs(x));
  const T r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

}  // namespace affine::detail
