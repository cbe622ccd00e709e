// Norms: vector_norm and matrix_norm (affine/tensor/linalg.hpp), composed from the elementwise
// ops and reductions in ops.hpp.
#include <cmath>
#include <limits>
#include <string>

#include "affine/tensor/linalg.hpp"
#include "affine/tensor/ops.hpp"
#include "linalg/batch.hpp"

namespace affine::linalg {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The shape a reduction over `axes` leaves (keepdim or not), and the axes made non-negative.
Shape reduced_shape(const Shape& shape, const Axes& axes, bool keepdim) {
  Shape out;
  for (int d = 0; d < shape.size(); ++d) {
    bool reduced = false;
    for (int64_t a : axes) reduced = reduced || normalize_axis(a, shape.size(), "vector_norm") == d;
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

}  // namespace

Tensor vector_norm(const Tensor& x, double ord, const Axes& dims, bool keepdim) {
  if (!x.defined()) throw Error("vector_norm: x is an undefined tensor");
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64)
    throw Error("vector_norm: x must be float32 or float64, got " +
                std::string(dtype_name(x.dtype())));
  if (std::isnan(ord)) throw Error("vector_norm: ord is NaN");
  Axes axes = dims;
  if (axes.empty())
    for (int d = 0; d < x.rank(); ++d) axes.push_back(d);
  const Shape out_shape = reduced_shape(x.shape(), axes, keepdim);
  if (x.numel() == 0) {
    if (ord < 0) throw Error("vector_norm: ord " + std::to_string(ord) + " of an empty tensor");
    return Tensor::zeros(out_shape, x.dtype());
  }
  if (x.rank() == 0) return abs(x);
  const Tensor a = abs(x);
  if (ord == kInf) return max(a, axes, keepdim);
  if (ord == -kInf) return min(a, axes, keepdim);
  if (ord == 0) return sum(ne(x, 0.0).to(x.dtype()), axes, keepdim);
  if (ord == 1) return sum(a, axes, keepdim);
  // (sum |x|^p)^(1/p) = s (sum (|x|/s)^p)^(1/p) with s = max |x|: no overflow or underflow in
  // the powers. s = 0 (all zeros) is replaced by 1; s = inf gives inf.
  const Tensor amax = max(a, axes, true);
  const Tensor scale = where(eq(amax, 0.0), Tensor::ones({}, x.dtype()), amax);
  const Tensor s = sum(pow(div(a, scale), ord), axes, true);
  Tensor r = mul(pow(s, 1.0 / ord), scale);
  r = where(eq(amax, kInf), amax, r);
  return r.reshape(out_shape);
}

Tensor matrix_norm(const Tensor& A, std::string_view ord, bool keepdim) {
  detail::linalg::check_matrix("matrix_norm", A);
  if (ord == "fro") return vector_norm(A, 2, {-2, -1}, keepdim);
  if (ord == "nuc") {  // the sum of the singular values (0 for an empty matrix)
    const Tensor r = sum(svdvals(A), {-1});
    return keepdim ? r.unsqueeze(-1).unsqueeze(-1) : r;
  }
  throw Error("matrix_norm: ord must be \"fro\" or \"nuc\" (or a number), got \"" +
              std::string(ord) + "\"");
}

Tensor matrix_norm(const Tensor& A, double ord, bool keepdim) {
  detail::linalg::check_matrix("matrix_norm", A);
  const Shape out_shape = reduced_shape(A.shape(), {-2, -1}, keepdim);
  if (ord == 1 || ord == -1 || ord == kInf || ord == -kInf) {
    if (A.numel() == 0)
      throw Error("matrix_norm: ord " + std::to_string(ord) + " of an empty matrix " +
                  to_string(A.shape()));
    // 1-norms: max/min column abs sum; inf-norms: max/min row abs sum.
    const bool cols = ord == 1 || ord == -1;
    const int64_t summed = cols ? -2 : -1, extremum = cols ? -1 : -2;
    const Tensor sums = sum(abs(A), Axes{summed}, true);
    const Tensor r = ord > 0 ? max(sums, extremum, true) : min(sums, extremum, true);
    return r.reshape(out_shape);
  }
  if (ord == 2 || ord == -2) {  // the largest / smallest singular value
    if (A.numel() == 0)
      throw Error("matrix_norm: ord " + std::to_string(static_cast<int>(ord)) +
                  " of an empty matrix " + to_string(A.shape()));
    const Tensor S = svdvals(A);
    return (ord > 0 ? S.narrow(-1, 0, 1) : S.narrow(-1, S.size(-1) - 1, 1)).reshape(out_shape);
  }
  throw Error("matrix_norm: ord must be 1, -1, 2, -2, inf or -inf (or \"fro\", \"nuc\"), got " +
              std::to_string(ord));
}

}  // namespace affine::linalg
