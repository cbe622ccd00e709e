// allclose: the comparison tests use, so it must not be fooled: shapes must match exactly (no
// broadcasting, which could hide a wrong result shape), and NaN is close to nothing unless asked.
#include <cmath>
#include <string>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/ops.hpp"

namespace affine {

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  if (!a.defined() || !b.defined()) {
    throw Error(std::string("allclose: ") + (a.defined() ? "second" : "first") +
                " operand is an undefined tensor");
  }
  if (!(a.shape() == b.shape())) return false;
  bool close = true;
  detail::visit_dtype(a.dtype(), [&](auto ta) {
    using A = AFFINE_T(ta);
    detail::visit_dtype(b.dtype(), [&](auto tb) {
      using B = AFFINE_T(tb);
      const A* pa = a.data<A>();
      const B* pb = b.data<B>();
      detail::for_each_row<2>(
          a.shape(), {a.strides(), b.strides()},
          [&](const detail::Offsets<2>& off, int64_t n, const detail::Offsets<2>& inc) {
            for (int64_t i = 0; i < n && close; ++i) {
              const double x = static_cast<double>(pa[off[0] + i * inc[0]]);
              const double y = static_cast<double>(pb[off[1] + i * inc[1]]);
              if (std::isnan(x) || std::isnan(y)) {
                close = equal_nan && std::isnan(x) && std::isnan(y);
              } else if (x != y) {
                // Unequal infinities are never close, even though
                // inf <= atol + rtol * inf would say so.
                close = std::isfinite(x) && std::isfinite(y) &&
                        std::abs(x - y) <= atol + rtol * std::abs(y);
              }
            }
          });
    });
  });
  return close;
}

}  // namespace affine
