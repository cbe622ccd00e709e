// LU with partial pivoting and what is built on it: lu_factor, lu_solve, solve, inv, det,
// slogdet (affine/tensor/linalg.hpp). The kernels are factor.hpp's getrf and blas3.hpp's TRSM.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/linalg.hpp"
#include "affine/tensor/ops.hpp"
#include "linalg/batch.hpp"
#include "linalg/blas3.hpp"
#include "linalg/factor.hpp"

namespace affine::linalg {

namespace {

using namespace detail::linalg;  // the kernels and helpers of tensor/src/linalg

// The factorization of every matrix of A, plus the first zero pivot of each (-1 if none).
struct Factored {
  LU lu;
  std::vector<int64_t> zero_pivot;
};

Factored factor(const char* op, const Tensor& A) {
  detail::linalg::check_square(op, A);
  const Shape batch = batch_shape(A);
  const int64_t n = A.size(-1), count = shape_numel(batch);
  Factored f{{A.clone(), Tensor::empty(concat_shape(batch, {n}), DType::i64)},
             std::vector<int64_t>(static_cast<size_t>(count))};
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    T* lu = f.lu.LU.template data<T>();
    int64_t* piv = f.lu.pivots.template data<int64_t>();
    for_each_matrix(count, [&](int64_t b) {
      f.zero_pivot[static_cast<size_t>(b)] =
          detail::linalg::getrf(matrix_at(lu, b * n * n, n, n), piv + b * n);
    });
  });
  return f;
}

// Throws "<op>: matrix is singular (U[i,i] = 0)" for the first batch element with a zero pivot.
void throw_if_singular(const char* op, const std::vector<int64_t>& zero_pivot) {
  const int64_t count = static_cast<int64_t>(zero_pivot.size());
  for (int64_t b = 0; b < count; ++b) {
    const int64_t i = zero_pivot[static_cast<size_t>(b)];
    if (i >= 0)
      throw Error(std::string(op) + ": matrix is singular (U[" + std::to_string(i) + "," +
                  std::to_string(i) + "] = 0)" + batch_suffix(b, count));
  }
}

// X = A^-1 B from A's LU; the batch shapes of LU and B broadcast. B is [..., n, k].
Tensor solve_lu(const char* op, const Tensor& lu, const Tensor& pivots, const Tensor& B) {
  const int64_t n = lu.size(-1), k = B.size(-1);
  const Shape batch = broadcast_shapes(batch_shape(lu), batch_shape(B), op);
  Tensor X = detail::linalg::fresh_copy(B, concat_shape(batch, {n, k}));
  const int64_t count = shape_numel(batch);
  const Tensor luc = lu.contiguous(), pivc = pivots.contiguous();
  const std::vector<int64_t> lu_off = block_offsets(luc, batch),
                             piv_off = block_offsets(pivc, batch, 1);
  detail::visit_float(lu.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* a = luc.template data<T>();
    const int64_t* piv = pivc.template data<int64_t>();
    T* x = X.template data<T>();
    for_each_matrix(count, [&](int64_t b) {
      const detail::linalg::Mat<T> xb = matrix_at(x, b * n * k, n, k);
      const detail::linalg::Mat<const T> ab = matrix_at(a, lu_off[static_cast<size_t>(b)], n, n);
      detail::linalg::laswp(xb, piv + piv_off[static_cast<size_t>(b)], n);
      detail::linalg::trsm_left<T>(true, true, ab, xb);
      detail::linalg::trsm_left<T>(false, false, ab, xb);
    });
  });
  return X;
}

// B as a matrix: torch treats B as a vector when it is 1-D or has A's shape minus the last dim.
bool is_vector_rhs(const Tensor& A, const Tensor& B) {
  if (B.rank() == 1) return true;
  if (B.rank() != A.rank() - 1) return false;
  for (int d = 0; d < B.rank(); ++d)
    if (B.size(d) != A.size(d)) return false;
  return true;
}

void check_rhs(const char* op, const Tensor& A, const Tensor& B) {
  detail::linalg::check_matrix(op, B, "B");
  detail::linalg::check_same_dtype(op, A, B);
  if (B.size(-2) != A.size(-1))
    throw Error(std::string(op) + ": A " + to_string(A.shape()) + " and B " + to_string(B.shape()) +
                " do not match (B must have " + std::to_string(A.size(-1)) + " rows)");
}

}  // namespace

LU lu_factor(const Tensor& A) { return factor("lu_factor", A).lu; }

Tensor lu_solve(const Tensor& LU, const Tensor& pivots, const Tensor& B) {
  const char* op = "lu_solve";
  detail::linalg::check_square(op, LU, "LU");
  check_rhs(op, LU, B);
  const int64_t n = LU.size(-1);
  if (!pivots.defined() || pivots.dtype() != DType::i64 || pivots.rank() != LU.rank() - 1 ||
      pivots.size(-1) != n || batch_shape(pivots, 1) != batch_shape(LU))
    throw Error(std::string(op) + ": pivots must be int64 of shape " +
                to_string(concat_shape(batch_shape(LU), {n})) + " for LU " + to_string(LU.shape()) +
                (pivots.defined() ? ", got " + std::string(dtype_name(pivots.dtype())) + " " +
                                        to_string(pivots.shape())
                                  : ", got an undefined tensor"));
  for (int64_t p : pivots.to_vector<int64_t>())
    if (p < 0 || p >= n)
      throw Error(std::string(op) + ": pivot " + std::to_string(p) + " is out of range [0, " +
                  std::to_string(n) + ")");
  // A zero on U's diagonal: the system has no unique solution.
  const Tensor luc = LU.contiguous();
  const int64_t count = shape_numel(batch_shape(LU));
  std::vector<int64_t> zero(static_cast<size_t>(count), -1);
  detail::visit_float(LU.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* a = luc.template data<T>();
    for (int64_t b = 0; b < count; ++b)
      for (int64_t i = 0; i < n && zero[static_cast<size_t>(b)] < 0; ++i)
        if (a[b * n * n + i * n + i] == T(0)) zero[static_cast<size_t>(b)] = i;
  });
  throw_if_singular(op, zero);
  return solve_lu(op, luc, pivots, B);
}

Tensor solve(const Tensor& A, const Tensor& B) {
  const char* op = "solve";
  detail::linalg::check_square(op, A);
  if (!B.defined()) throw Error("solve: B is an undefined tensor");
  if (is_vector_rhs(A, B)) return solve(A, B.unsqueeze(-1)).squeeze(-1);
  check_rhs(op, A, B);
  broadcast_shapes(batch_shape(A), batch_shape(B), op);  // before the work, not after it
  const Factored f = factor(op, A);
  throw_if_singular(op, f.zero_pivot);
  return solve_lu(op, f.lu.LU, f.lu.pivots, B);
}

Tensor inv(const Tensor& A) {
  const char* op = "inv";
  const Factored f = factor(op, A);
  throw_if_singular(op, f.zero_pivot);
  const int64_t n = A.size(-1);
  return solve_lu(op, f.lu.LU, f.lu.pivots, Tensor::eye(n, A.dtype()));
}

namespace {

// det A = (-1)^(row swaps) prod U_ii, and its sign and log|.| (singular: 0 and -inf; NaN in, NaN
// out), for every matrix of A from its LU.
template <class Out>
void det_from_lu(const char* op, const Tensor& A, const Out& out) {
  const Factored f = factor(op, A);
  const int64_t n = A.size(-1), count = shape_numel(batch_shape(A));
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* lu = f.lu.LU.template data<T>();
    const int64_t* piv = f.lu.pivots.template data<int64_t>();
    for (int64_t b = 0; b < count; ++b) {
      T sign = 1, logabs = 0, det = 1;
      for (int64_t i = 0; i < n; ++i) {
        const T u = lu[b * n * n + i * n + i];
        if (piv[b * n + i] != i) sign = -sign;
        if (u < T(0)) sign = -sign;
        det *= u;
        logabs += std::log(std::abs(u));
      }
      for (int64_t i = 0; i < n; ++i)
        if (piv[b * n + i] != i) det = -det;
      if (std::isnan(logabs))
        sign = logabs;
      else if (logabs == -std::numeric_limits<T>::infinity())
        sign = 0;
      out(b, sign, logabs, det);
    }
  });
}

}  // namespace

Tensor det(const Tensor& A) {
  detail::linalg::check_square("det", A);
  Tensor d = Tensor::empty(batch_shape(A), A.dtype());
  det_from_lu("det", A, [&](int64_t b, auto, auto, auto det) {
    using T = decltype(det);
    d.template data<T>()[b] = det;
  });
  return d;
}

Slogdet slogdet(const Tensor& A) {
  detail::linalg::check_square("slogdet", A);
  Slogdet r{Tensor::empty(batch_shape(A), A.dtype()), Tensor::empty(batch_shape(A), A.dtype())};
  det_from_lu("slogdet", A, [&](int64_t b, auto sign, auto logabs, auto) {
    using T = decltype(sign);
    r.sign.template data<T>()[b] = sign;
    r.logabsdet.template data<T>()[b] = logabs;
  });
  return r;
}

}  // namespace affine::linalg
