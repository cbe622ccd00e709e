// Internal: the scaling every spectral function applies before its iterations.
#pragma once

#include <cmath>
#include <cstdint>

namespace affine::detail::linalg {

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
