// eigh and eigvalsh: Householder tridiagonalisation, then the implicit QL iteration on the
// tridiagonal (eigenvalues only) or divide and conquer (with eigenvectors), and the
// back-transformation of its eigenvectors (tridiagonal.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/linalg.hpp"
#include "linalg/batch.hpp"
#include "linalg/tridiagonal.hpp"
#include "linalg/unit_scale.hpp"
#include "linalg/workspace.hpp"

namespace affine::linalg {
namespace {

using namespace affine::detail::linalg;

// Side of the square tiles in which the row-major input and output are transposed. A tile's rows
// are n elements apart, and when n is a power of two they all fall in one set of the L1 cache: 8
// rows fit the ways of any L1 (32 did not: the transposes took 5% of eigh at n = 1024).
constexpr int64_t kTile = 8;

// One symmetric matrix: src row-major n x n (only the uplo triangle read) -> w [n] ascending and,
// when vecs is not null, vecs row-major n x n with column i the eigenvector of w[i].
// eigh_one's buffers, kept across the matrices of a batch.
template <class T>
struct EighBuffers {
  Workspace<T> a, z;
  std::vector<T> d, e, tau, sign;
  std::vector<int64_t> order;
};

template <class T>
void eigh_one(const char* op, int64_t n, const T* src, bool lower, T* w, T* vecs,
              EighBuffers<T>& buf) {
  Workspace<T>& a = buf.a;
  Workspace<T>& z = buf.z;
  // Column-major lower triangle of the work matrix: a[i + j n] = A(i, j), i >= j. A transpose of
  // the row-major input, so it goes in kTile x kTile tiles: row by row, a page per element read.
  a.resize(n * n);
  std::fill_n(a.data(), n * n, T(0));
  T max_abs = 0;
  bool finite = true;
  for (int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int64_t j1 = std::min(n, j0 + kTile);
    for (int64_t i0 = j0; i0 < n; i0 += kTile) {
      const int64_t i1 = std::min(n, i0 + kTile);
      for (int64_t j = j0; j < j1; ++j) {
        for (int64_t i = std::max(i0, j); i < i1; ++i) {
          const T x = lower ? src[i * n + j] : src[j * n + i];
          a[i + j * n] = x;
          finite = finite && std::isfinite(x);
          max_abs = std::max(max_abs, std::abs(x));
        }
      }
    }
  }
  if (!finite) {  // NaN or Inf in the read triangle: everything NaN (documented in linalg.hpp)
    std::fill(w, w + n, std::numeric_limits<T>::quiet_NaN());
    if (vecs != nullptr) std::fill(vecs, vecs + n * n, std::numeric_limits<T>::quiet_NaN());
    return;
  }
  const T scale = unit_scale(max_abs);
  for (int64_t i = 0; i < n * n; ++i) a[i] *= scale;

  std::vector<T>& d = buf.d;
  std::vector<T>& e = buf.e;
  std::vector<T>& tau = buf.tau;
  d.resize(static_cast<size_t>(n));
  e.resize(static_cast<size_t>(n));
  tau.resize(static_cast<size_t>(n));
  reduce_to_tridiagonal(n, a.data(), n, d.data(), e.data(), tau.data());
  // Eigenvalues alone: the QL iteration (O(n^2)). With vectors: divide and conquer.
  bool converged = false;
  if (vecs == nullptr) {
    converged = tridiagonal_ql(n, d.data(), e.data(), static_cast<T*>(nullptr), n);
  } else {
    z.resize(n * n);
    converged = tridiagonal_dc(n, d.data(), e.data(), z.data(), n);
  }
  if (!converged) {
    throw Error(std::string(op) + ": the QL iteration did not converge (n = " + std::to_string(n) +
                ")");
  }
  std::vector<int64_t>& order = buf.order;
  order.resize(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Ties by index: the order stable_sort gives, without the buffer it allocates.
  std::sort(order.begin(), order.end(),
            [&](int64_t x, int64_t y) { return d[x] < d[y] || (d[x] == d[y] && x < y); });
  for (int64_t i = 0; i < n; ++i) w[i] = d[order[i]] / scale;
  if (vecs == nullptr) return;
  apply_tridiagonal_q(n, a.data(), n, tau.data(), z.data(), n, n);
  // Sign convention: the entry of largest magnitude (the first such) of each vector is positive.
  std::vector<T>& sign = buf.sign;
  sign.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const T* col = z.data() + order[i] * n;
    int64_t big = 0;
    for (int64_t r = 1; r < n; ++r) {
      if (std::abs(col[r]) > std::abs(col[big])) big = r;
    }
    sign[i] = col[big] < 0 ? T(-1) : T(1);
  }
  // vecs (row-major) column i = z's column order[i]: a transpose, in tiles as the input.
  for (int64_t r0 = 0; r0 < n; r0 += kTile) {
    const int64_t r1 = std::min(n, r0 + kTile);
    for (int64_t i = 0; i < n; ++i) {
      const T* col = z.data() + order[i] * n;
      for (int64_t r = r0; r < r1; ++r) vecs[r * n + i] = sign[i] * col[r];
    }
  }
}

Eigh eigh_impl(const char* op, const Tensor& A, char uplo, bool want_vectors) {
  check_square(op, A);
  if (uplo != 'L' && uplo != 'U') {
    throw Error(std::string(op) + ": uplo must be 'L' or 'U', got '" + std::string(1, uplo) + "'");
  }
  const int64_t n = A.size(-1);
  const int64_t batch = shape_numel(batch_shape(A));
  Eigh out;
  out.eigenvalues = Tensor::empty(concat_shape(batch_shape(A), {n}), A.dtype());
  if (want_vectors) out.eigenvectors = Tensor::empty(A.shape(), A.dtype());
  const Tensor src = A.contiguous();
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    for_each_matrix_with(
        batch, [] { return EighBuffers<T>{}; },
        [&](EighBuffers<T>& buf, int64_t b) {
          eigh_one<T>(op, n, src.data<T>() + b * n * n, uplo == 'L',
                      out.eigenvalues.data<T>() + b * n,
                      want_vectors ? out.eigenvectors.data<T>() + b * n * n : nullptr, buf);
        });
  });
  return out;
}

}  // namespace

Eigh eigh(const Tensor& A, char uplo) { return eigh_impl("eigh", A, uplo, true); }

Tensor eigvalsh(const Tensor& A, char uplo) {
  return eigh_impl("eigvalsh", A, uplo, false).eigenvalues;
}

}  // namespace affine::linalg
