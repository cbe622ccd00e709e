// What the SVD gives beyond itself: pinv, matrix_rank, cond and lstsq's "gelsd" driver, composed
// from svd/eigh and tensor ops.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "affine/tensor/internal/bmm.hpp"
#include "affine/tensor/linalg.hpp"
#include "affine/tensor/ops.hpp"
#include "linalg/batch.hpp"
#include "linalg/spectral.hpp"

namespace affine::detail::linalg {

/// The machine epsilon of a float dtype.
inline double eps_of(DType dt) {
  return dt == DType::f32 ? std::numeric_limits<float>::epsilon()
                          : std::numeric_limits<double>::epsilon();
}

}  // namespace affine::detail::linalg

namespace affine::linalg {

using detail::linalg::batch_shape;
using detail::linalg::bmm;
using detail::linalg::concat_shape;
using detail::linalg::eps_of;
using detail::linalg::mT;

namespace {

// The cutoff max(atol, rtol * S_max) [..., 1] below or at which singular values count as zero,
// from S [..., k] (descending, or |eigenvalues| in any order for hermitian).
Tensor cutoff(const Tensor& S, int64_t m, int64_t n, std::optional<double> atol,
              std::optional<double> rtol) {
  const double r = rtol   ? *rtol
                   : atol ? 0.0
                          : eps_of(S.dtype()) * static_cast<double>(std::max(m, n));
  if (r < 0 || (atol && *atol < 0)) {
    throw Error("pinv/matrix_rank: atol and rtol must be non-negative, got atol " +
                std::to_string(atol.value_or(0)) + ", rtol " + std::to_string(r));
  }
  const Tensor smax = S.size(-1) == 0
                          ? Tensor::zeros(concat_shape(batch_shape(S, 1), {1}), S.dtype())
                          : max(S, int64_t{-1}, true);
  return maximum(mul(smax, r), atol.value_or(0.0));
}

// Singular values (|eigenvalues| for hermitian) [..., k].
Tensor spectrum(const char* op, const Tensor& A, bool hermitian) {
  if (hermitian) {
    detail::linalg::check_square(op, A);
    return abs(eigvalsh(A));
  }
  detail::linalg::check_matrix(op, A);
  return svdvals(A);
}

}  // namespace

Tensor pinv(const Tensor& A, std::optional<double> atol, std::optional<double> rtol,
            bool hermitian) {
  if (hermitian) {
    detail::linalg::check_square("pinv", A);
    const Eigh e = eigh(A);
    const Tensor keep =
        gt(abs(e.eigenvalues), cutoff(abs(e.eigenvalues), A.size(-1), A.size(-1), atol, rtol));
    const Tensor inv_w = where(keep, div(1.0, e.eigenvalues), Tensor::zeros({}, A.dtype()));
    return bmm(mul(e.eigenvectors, inv_w.unsqueeze(-2)), mT(e.eigenvectors));
  }
  detail::linalg::check_matrix("pinv", A);
  const SVD s = svd(A, false);
  const Tensor keep = gt(s.S, cutoff(s.S, A.size(-2), A.size(-1), atol, rtol));
  const Tensor inv_s = where(keep, div(1.0, s.S), Tensor::zeros({}, A.dtype()));
  return bmm(mul(mT(s.Vh), inv_s.unsqueeze(-2)), mT(s.U));
}

Tensor matrix_rank(const Tensor& A, std::optional<double> atol, std::optional<double> rtol,
                   bool hermitian) {
  const Tensor S = spectrum("matrix_rank", A, hermitian);
  return sum(gt(S, cutoff(S, A.size(-2), A.size(-1), atol, rtol)), {-1}).to(DType::i64);
}

Tensor cond(const Tensor& A) {
  detail::linalg::check_matrix("cond", A);
  if (A.size(-1) == 0 || A.size(-2) == 0) {
    throw Error("cond: the condition number of an empty matrix " + to_string(A.shape()) +
                " is not defined");
  }
  const Tensor S = svdvals(A);
  const int64_t k = S.size(-1);
  const Tensor smax = S.narrow(-1, 0, 1).squeeze(-1), smin = S.narrow(-1, k - 1, 1).squeeze(-1);
  // S_min = 0 (singular, the zero matrix included) is inf, not 0 / 0.
  return where(eq(smin, 0.0), Tensor::full({}, std::numeric_limits<double>::infinity(), A.dtype()),
               div(smax, smin));
}

}  // namespace affine::linalg

namespace affine::detail::linalg {

// X = V diag(1 / S_kept) U^T B with S_kept the singular values > rcond * S_max.
affine::linalg::Lstsq lstsq_gelsd(const Tensor& A, const Tensor& B, std::optional<double> rcond) {
  const int64_t m = A.size(-2), n = A.size(-1);
  const double rc =
      rcond.value_or(-1) >= 0 ? *rcond : eps_of(A.dtype()) * static_cast<double>(std::max(m, n));
  const Shape batch = broadcast_shapes(batch_shape(A), batch_shape(B), "lstsq");
  const Tensor Ab = A.expand(concat_shape(batch, {m, n}));
  const Tensor Bb = B.expand(concat_shape(batch, {m, B.size(-1)}));
  const affine::linalg::SVD s = affine::linalg::svd(Ab, false);
  const Tensor smax = s.S.size(-1) == 0 ? Tensor::zeros(concat_shape(batch, {1}), A.dtype())
                                        : max(s.S, int64_t{-1}, true);
  const Tensor keep = gt(s.S, mul(smax, rc));
  const Tensor inv_s = where(keep, div(1.0, s.S), Tensor::zeros({}, A.dtype()));
  affine::linalg::Lstsq out;
  out.solution = bmm(mul(mT(s.Vh), inv_s.unsqueeze(-2)), bmm(mT(s.U), Bb));
  const Tensor rank = sum(keep, {-1});
  out.rank = rank.to(DType::i64);
  out.singular_values = s.S;
  // Residuals as torch: only for m > n with every matrix of full rank.
  const bool full = m > n && (rank.numel() == 0 || min(rank).item() == static_cast<double>(n));
  out.residuals =
      full ? sum(square(sub(Bb, bmm(Ab, out.solution))), {-2}) : Tensor::empty({0}, A.dtype());
  return out;
}

}  // namespace affine::detail::linalg
