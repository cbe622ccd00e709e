// Cholesky and triangular solves: cholesky, cholesky_solve, solve_triangular
// (affine/tensor/linalg.hpp), on factor.hpp's recursive potrf and blas3.hpp's TRSM.
#include <string>
#include <type_traits>
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

// Throws "<op>: A has a zero on its diagonal (A[i,i] = 0)" for the first such triangular matrix.
void check_diagonal(const char* op, const char* name, const Tensor& A) {
  const Tensor a = A.contiguous();
  const int64_t n = a.size(-1), count = shape_numel(batch_shape(a));
  detail::visit_float(a.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* p = a.template data<T>();
    for (int64_t b = 0; b < count; ++b)
      for (int64_t i = 0; i < n; ++i)
        if (p[b * n * n + i * n + i] == T(0))
          throw Error(std::string(op) + ": " + name + " is singular (" + name + "[" +
                      std::to_string(i) + "," + std::to_string(i) + "] = 0)" +
                      batch_suffix(b, count));
  });
}

// X = copy of B broadcast against A's batch; then solve(a, x) on every matrix (a is A's n x n,
// x is X's n x k, or X's k x n transposed when !left, so solve always sees A on the left).
template <class Solve>
Tensor solve_each(const char* op, const Tensor& A, const Tensor& B, bool left, const Solve& solve) {
  detail::linalg::check_square(op, A);
  detail::linalg::check_matrix(op, B, "B");
  detail::linalg::check_same_dtype(op, A, B);
  const int64_t n = A.size(-1);
  if ((left ? B.size(-2) : B.size(-1)) != n)
    throw Error(std::string(op) + ": A " + to_string(A.shape()) + " and B " + to_string(B.shape()) +
                " do not match (B must have " + std::to_string(n) +
                (left ? " rows)" : " columns)"));
  const Shape batch = broadcast_shapes(batch_shape(A), batch_shape(B), op);
  const int64_t rows = B.size(-2), cols = B.size(-1), count = shape_numel(batch);
  Tensor X = detail::linalg::fresh_copy(B, concat_shape(batch, {rows, cols}));
  const Tensor a = A.contiguous();
  const std::vector<int64_t> a_off = block_offsets(a, batch);
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* ap = a.template data<T>();
    T* xp = X.template data<T>();
    for_each_matrix(count, [&](int64_t b) {
      const Mat<const T> ab = matrix_at(ap, a_off[static_cast<size_t>(b)], n, n);
      const Mat<T> xb = matrix_at(xp, b * rows * cols, rows, cols);
      solve(ab, left ? xb : xb.t());
    });
  });
  return X;
}

}  // namespace

Tensor cholesky(const Tensor& A, bool upper) {
  const char* op = "cholesky";
  detail::linalg::check_square(op, A);
  const int64_t n = A.size(-1), count = shape_numel(batch_shape(A));
  Tensor L = A.clone();
  std::vector<int64_t> info(static_cast<size_t>(count));
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    T* p = L.template data<T>();
    for_each_matrix(count, [&](int64_t b) {
      const Mat<T> m = matrix_at(p, b * n * n, n, n);
      info[static_cast<size_t>(b)] = upper ? potrf_upper(m) : potrf_lower(m);
      for (int64_t i = 0; i < n; ++i)  // zero the triangle not read
        for (int64_t j = upper ? 0 : i + 1; j < (upper ? i : n); ++j) m(i, j) = T(0);
    });
  });
  for (int64_t b = 0; b < count; ++b)
    if (const int64_t order = info[static_cast<size_t>(b)])
      throw Error(std::string(op) + ": the leading minor of order " + std::to_string(order) +
                  " is not positive definite" + batch_suffix(b, count));
  return L;
}

Tensor cholesky_solve(const Tensor& B, const Tensor& L, bool upper) {
  const char* op = "cholesky_solve";
  detail::linalg::check_square(op, L, "L");
  check_diagonal(op, upper ? "U" : "L", L);
  // A = L L^T: L Y = B then L^T X = Y. A = U^T U: U^T Y = B then U X = Y.
  return solve_each(op, L, B, true, [&](auto a, auto x) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(a.p)>>;
    const Mat<const T> lower = upper ? a.t() : a;
    detail::linalg::trsm_left<T>(true, false, lower, x);
    detail::linalg::trsm_left<T>(false, false, lower.t(), x);
  });
}

Tensor solve_triangular(const Tensor& A, const Tensor& B, bool upper, bool left,
                        bool unitriangular) {
  const char* op = "solve_triangular";
  detail::linalg::check_square(op, A);
  if (!unitriangular) check_diagonal(op, "A", A);
  // Left: A X = B. Right: X A = B, i.e. A^T X^T = B^T, and A^T is lower when A is upper.
  return solve_each(op, A, B, left, [&](auto a, auto x) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(a.p)>>;
    if (left)
      detail::linalg::trsm_left<T>(!upper, unitriangular, a, x);
    else
      detail::linalg::trsm_left<T>(upper, unitriangular, a.t(), x);
  });
}

}  // namespace affine::linalg
