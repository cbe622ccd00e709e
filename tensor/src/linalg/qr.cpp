// Householder QR and least squares through it: qr and lstsq's "gels" driver
// (affine/tensor/linalg.hpp), on factor.hpp's blocked geqrf/ormqr.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/linalg.hpp"
#include "affine/tensor/ops.hpp"
#include "linalg/batch.hpp"
#include "linalg/blas3.hpp"
#include "linalg/factor.hpp"
#include "linalg/spectral.hpp"

namespace affine::linalg {

namespace {

using namespace detail::linalg;  // the kernels and helpers of tensor/src/linalg

}  // namespace

QR qr(const Tensor& A, std::string_view mode) {
  const char* op = "qr";
  detail::linalg::check_matrix(op, A);
  const bool reduced = mode == "reduced", complete = mode == "complete", r_only = mode == "r";
  if (!reduced && !complete && !r_only)
    throw Error("qr: mode must be \"reduced\", \"complete\" or \"r\", got \"" + std::string(mode) +
                "\"");
  const Shape batch = batch_shape(A);
  const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n), count = shape_numel(batch);
  const int64_t r_rows = complete ? m : k, q_cols = complete ? m : k;
  Tensor W = A.clone();
  QR out;
  out.R = Tensor::zeros(concat_shape(batch, {r_rows, n}), A.dtype());
  if (!r_only) out.Q = Tensor::zeros(concat_shape(batch, {m, q_cols}), A.dtype());
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    T* w = W.template data<T>();
    T* r = out.R.template data<T>();
    T* q = r_only ? nullptr : out.Q.template data<T>();
    for_each_matrix(count, [&](int64_t b) {
      const Mat<T> wb = matrix_at(w, b * m * n, m, n);
      std::vector<T> tau(static_cast<size_t>(k));
      detail::linalg::geqrf(wb, tau.data());
      const Mat<T> rb = matrix_at(r, b * r_rows * n, r_rows, n);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = i; j < n; ++j) rb(i, j) = wb(i, j);
      if (r_only) return;
      // Q = H_0 ... H_{k-1} applied to the first q_cols columns of the identity.
      const Mat<T> qb = matrix_at(q, b * m * q_cols, m, q_cols);
      for (int64_t i = 0; i < std::min(m, q_cols); ++i) qb(i, i) = T(1);
      detail::linalg::ormqr_left<T>(wb.block(0, 0, m, k), tau.data(), false, qb);
    });
  });
  return out;
}

namespace {

// Least squares by Householder QR, full rank assumed (checked: an exactly zero diagonal entry of
// R throws). m >= n: X = R^-1 (Q^T B)[0:n], residuals = ||(Q^T B)[n:m]||^2 per column when m > n.
// m < n: the minimum-norm solution from A^T = Q R: X = Q [R^-T B; 0].
Lstsq lstsq_gels(const Tensor& A, const Tensor& B) {
  const char* op = "lstsq";
  const int64_t m = A.size(-2), n = A.size(-1), k = B.size(-1);
  const Shape batch = broadcast_shapes(batch_shape(A), batch_shape(B), op);
  const int64_t count = shape_numel(batch);
  const bool tall = m >= n;
  // The matrix factored: A (m x n) or A^T (n x m), one copy per batch element.
  Tensor W = detail::linalg::fresh_copy(tall ? A : A.transpose(-1, -2),
                                        concat_shape(batch, {tall ? m : n, tall ? n : m}));
  Tensor Bw = detail::linalg::fresh_copy(B, concat_shape(batch, {m, k}));
  Lstsq out;
  out.solution = Tensor::zeros(concat_shape(batch, {n, k}), A.dtype());
  out.residuals = tall && m > n ? Tensor::empty(concat_shape(batch, {k}), A.dtype())
                                : Tensor::empty({0}, A.dtype());
  out.rank = Tensor::full(batch, static_cast<double>(std::min(m, n)), DType::i64);
  out.singular_values = Tensor::empty({0}, A.dtype());
  std::vector<int64_t> zero(static_cast<size_t>(count), -1);
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const int64_t wm = tall ? m : n, wn = tall ? n : m, kk = std::min(m, n);
    T* w = W.template data<T>();
    T* bw = Bw.template data<T>();
    T* x = out.solution.template data<T>();
    for_each_matrix(count, [&](int64_t b) {
      const Mat<T> wb = matrix_at(w, b * wm * wn, wm, wn);
      std::vector<T> tau(static_cast<size_t>(kk));
      detail::linalg::geqrf(wb, tau.data());
      for (int64_t i = 0; i < kk; ++i)
        if (wb(i, i) == T(0)) {
          zero[static_cast<size_t>(b)] = i;
          return;
        }
      const Mat<T> rb = wb.block(0, 0, kk, kk), bb = matrix_at(bw, b * m * k, m, k),
                   xb = matrix_at(x, b * n * k, n, k);
      if (tall) {
        detail::linalg::ormqr_left<T>(wb, tau.data(), true, bb);
        detail::linalg::trsm_left<T>(false, false, rb, bb.block(0, 0, n, k));
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < k; ++j) xb(i, j) = bb(i, j);
        if (m > n) {
          T* res = out.residuals.template data<T>() + b * k;
          for (int64_t j = 0; j < k; ++j) {
            T s = 0;
            for (int64_t i = n; i < m; ++i) s += bb(i, j) * bb(i, j);
            res[j] = s;
          }
        }
      } else {
        detail::linalg::trsm_left<T>(true, false, rb.t(), bb);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < k; ++j) xb(i, j) = bb(i, j);
        detail::linalg::ormqr_left<T>(wb, tau.data(), false, xb);
      }
    });
  });
  for (int64_t b = 0; b < count; ++b)
    if (const int64_t i = zero[static_cast<size_t>(b)]; i >= 0)
      throw Error("lstsq: A does not have full rank (R[" + std::to_string(i) + "," +
                  std::to_string(i) + "] = 0 in its QR; driver \"gelsd\" handles rank deficiency)" +
                  batch_suffix(b, count));
  return out;
}

}  // namespace

Lstsq lstsq(const Tensor& A, const Tensor& B, std::optional<double> rcond,
            std::string_view driver) {
  const char* op = "lstsq";
  detail::linalg::check_matrix(op, A);
  if (!B.defined()) throw Error("lstsq: B is an undefined tensor");
  if (B.rank() == 1) {  // a vector right-hand side: solution [..., n], residuals [...]
    Lstsq r = lstsq(A, B.unsqueeze(-1), rcond, driver);
    r.solution = r.solution.squeeze(-1);
    if (r.residuals.rank() >= 1 && r.residuals.size(-1) == 1) r.residuals = r.residuals.squeeze(-1);
    return r;
  }
  detail::linalg::check_matrix(op, B, "B");
  detail::linalg::check_same_dtype(op, A, B);
  if (B.size(-2) != A.size(-2))
    throw Error("lstsq: A " + to_string(A.shape()) + " and B " + to_string(B.shape()) +
                " do not match (B must have " + std::to_string(A.size(-2)) + " rows)");
  if (driver == "gels") return lstsq_gels(A, B);
  if (driver == "gelsd") return detail::linalg::lstsq_gelsd(A, B, rcond);
  throw Error("lstsq: driver must be \"gelsd\" or \"gels\", got \"" + std::string(driver) + "\"");
}

}  // namespace affine::linalg
