// svd and svdvals: Householder bidiagonalisation, the implicit-shift QR iteration on the
// bidiagonal, and the back-transformation of its singular vectors (bidiagonal.hpp).
//
// The kernels want a tall matrix (M >= N), column-major. A row-major m x n matrix read as
// column-major is A^T (n x m), so a wide A is factored as A^T = U' S V'^T with no copy transposed,
// and then U = V', V = U'.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/linalg.hpp"
#include "linalg/batch.hpp"
#include "linalg/bidiagonal.hpp"
#include "linalg/unit_scale.hpp"
#include "linalg/workspace.hpp"

namespace affine::linalg {
namespace {

// Side of the tiles in which row-major data is transposed. A tile's rows are a row length apart,
// and when that is a power of two they all fall in one set of the L1 cache: 8 rows fit the ways
// of any L1 (32 did not).
constexpr int64_t kTile = 8;

using namespace affine::detail::linalg;

// Output pointers for one matrix; u and vh are null for svdvals.
template <class T>
struct SvdOut {
  T* u;   // m x ucols, row-major
  T* s;   // k
  T* vh;  // vrows x n, row-major
  int64_t ucols, vrows;
};

template <class T>
void fill_nan(T* p, int64_t count) {
  if (p != nullptr) std::fill(p, p + count, std::numeric_limits<T>::quiet_NaN());
}

// Index of the first entry of largest magnitude in x [n].
template <class T>
int64_t argmax_abs(const T* x, int64_t n) {
  int64_t big = 0;
  for (int64_t r = 1; r < n; ++r) {
    if (std::abs(x[r]) > std::abs(x[big])) big = r;
  }
  return big;
}

// svd_one's buffers, kept across the matrices of a batch.
template <class T>
struct SvdBuffers {
  Workspace<T> w, uw, vw;
  std::vector<T> d, e, tauq, taup, sign;
  std::vector<int64_t> order;
};

template <class T>
void svd_one(const char* op, int64_t m, int64_t n, const T* src, const SvdOut<T>& out,
             SvdBuffers<T>& buf) {
  Workspace<T>& w = buf.w;
  const bool tall = m >= n;
  const int64_t M = tall ? m : n, N = tall ? n : m;  // the work matrix W is M x N, M >= N
  const bool vectors = out.u != nullptr;
  w.resize(M * N);
  T max_abs = 0;
  bool finite = true;
  for (int64_t i = 0; i < m * n; ++i) {
    finite = finite && std::isfinite(src[i]);
    max_abs = std::max(max_abs, std::abs(src[i]));
  }
  if (!finite) {  // documented: NaN or Inf input gives NaN everywhere
    fill_nan(out.s, N);
    fill_nan(out.u, m * out.ucols);
    fill_nan(out.vh, out.vrows * n);
    return;
  }
  const T scale = unit_scale(max_abs);
  if (tall) {  // W = A: transpose the row-major data into column-major, in kTile x kTile tiles
    for (int64_t i0 = 0; i0 < m; i0 += kTile) {
      for (int64_t j0 = 0; j0 < n; j0 += kTile) {
        for (int64_t j = j0; j < std::min(n, j0 + kTile); ++j)
          for (int64_t i = i0; i < std::min(m, i0 + kTile); ++i)
            w[i + j * m] = src[i * n + j] * scale;
      }
    }
  } else {  // W = A^T: the row-major data already is A^T column-major
    for (int64_t i = 0; i < m * n; ++i) w[i] = src[i] * scale;
  }

  std::vector<T>& d = buf.d;
  std::vector<T>& e = buf.e;
  std::vector<T>& tauq = buf.tauq;
  std::vector<T>& taup = buf.taup;
  for (std::vector<T>* v : {&d, &e, &tauq, &taup}) v->resize(static_cast<size_t>(N));
  reduce_to_bidiagonal(M, N, w.data(), M, d.data(), e.data(), tauq.data(), taup.data());
  // W's left vectors: M x wcols; W's right vectors: N x N.
  const int64_t wcols = !vectors ? 0 : tall ? out.ucols : out.vrows;
  Workspace<T>& uw = buf.uw;
  Workspace<T>& vw = buf.vw;
  if (vectors) {
    uw.resize(M * wcols);
    vw.resize(N * N);
    std::fill_n(uw.data(), M * wcols, T(0));
    std::fill_n(vw.data(), N * N, T(0));
    for (int64_t i = 0; i < wcols; ++i) uw[i + i * M] = T(1);
    for (int64_t i = 0; i < N; ++i) vw[i + i * N] = T(1);
  }
  // Values alone: the QR iteration (O(n^2)). With vectors: divide and conquer, into the leading
  // N x N block of uw (the rest stays the identity's).
  const bool converged = vectors ? bidiagonal_dc(N, d.data(), e.data(), uw.data(), M, vw.data(), N)
                                 : bidiagonal_qr(N, d.data(), e.data(), static_cast<T*>(nullptr), M,
                                                 static_cast<T*>(nullptr), N);
  if (!converged) {
    throw Error(std::string(op) + ": the bidiagonal QR iteration did not converge (shape [" +
                std::to_string(m) + ", " + std::to_string(n) + "])");
  }
  std::vector<int64_t>& order = buf.order;
  order.resize(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Ties by index: the order stable_sort gives, without the buffer it allocates.
  std::sort(order.begin(), order.end(),
            [&](int64_t x, int64_t y) { return d[x] > d[y] || (d[x] == d[y] && x < y); });
  for (int64_t i = 0; i < N; ++i) out.s[i] = d[order[i]] / scale;
  if (!vectors) return;
  apply_bidiagonal_q(M, N, w.data(), M, tauq.data(), uw.data(), wcols, M);
  apply_bidiagonal_p(N, w.data(), M, taup.data(), vw.data(), N, N);

  // Column c of the output U and row c of the output Vh come from these work columns.
  auto left = [&](int64_t c) -> const T* {
    return tall ? uw.data() + (c < N ? order[c] : c) * M : vw.data() + order[c] * N;
  };
  auto right = [&](int64_t c) -> const T* {
    return tall ? vw.data() + order[c] * N : uw.data() + (c < N ? order[c] : c) * M;
  };
  // Sign convention: the largest entry of each column of U (the first such) is positive; the
  // matching row of Vh flips with it.
  std::vector<T>& sign = buf.sign;
  sign.assign(static_cast<size_t>(out.ucols), T(1));
  for (int64_t c = 0; c < N; ++c) {
    const T* col = left(c);
    if (col[argmax_abs(col, m)] < 0) sign[c] = T(-1);
    const T* row = right(c);
    for (int64_t j = 0; j < n; ++j) out.vh[c * n + j] = sign[c] * row[j];
  }
  // U (row-major) from work columns: a transpose, in bands of kTile rows so that the writes touch
  // kTile lines at a time rather than one line per element.
  for (int64_t r0 = 0; r0 < m; r0 += kTile) {
    const int64_t r1 = std::min(m, r0 + kTile);
    for (int64_t c = 0; c < out.ucols; ++c) {
      const T* col = left(c);
      for (int64_t r = r0; r < r1; ++r) out.u[r * out.ucols + c] = sign[c] * col[r];
    }
  }
  for (int64_t c = N; c < out.vrows; ++c) {  // the rest of a full Vh
    const T* row = right(c);
    for (int64_t j = 0; j < n; ++j) out.vh[c * n + j] = row[j];
  }
}

SVD svd_impl(const char* op, const Tensor& A, bool full_matrices, bool want_vectors) {
  check_matrix(op, A);
  const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n);
  const int64_t ucols = full_matrices ? m : k, vrows = full_matrices ? n : k;
  const int64_t batch = shape_numel(batch_shape(A));
  SVD out;
  out.S = Tensor::empty(concat_shape(batch_shape(A), {k}), A.dtype());
  if (want_vectors) {
    out.U = Tensor::zeros(concat_shape(batch_shape(A), {m, ucols}), A.dtype());
    out.Vh = Tensor::zeros(concat_shape(batch_shape(A), {vrows, n}), A.dtype());
  }
  const Tensor src = A.contiguous();
  detail::visit_float(A.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    for_each_matrix_with(
        batch, [] { return SvdBuffers<T>{}; },
        [&](SvdBuffers<T>& buf, int64_t b) {
          if (k == 0) {  // empty: as numpy, full U and Vh are identities
            if (want_vectors) {
              T* u = out.U.data<T>() + b * m * ucols;
              T* vh = out.Vh.data<T>() + b * vrows * n;
              for (int64_t i = 0; i < std::min(m, ucols); ++i) u[i * ucols + i] = T(1);
              for (int64_t i = 0; i < std::min(n, vrows); ++i) vh[i * n + i] = T(1);
            }
            return;
          }
          SvdOut<T> o{want_vectors ? out.U.data<T>() + b * m * ucols : nullptr,
                      out.S.data<T>() + b * k,
                      want_vectors ? out.Vh.data<T>() + b * vrows * n : nullptr, ucols, vrows};
          svd_one<T>(op, m, n, src.data<T>() + b * m * n, o, buf);
        });
  });
  return out;
}

}  // namespace

SVD svd(const Tensor& A, bool full_matrices) { return svd_impl("svd", A, full_matrices, true); }

Tensor svdvals(const Tensor& A) { return svd_impl("svdvals", A, false, false).S; }

}  // namespace affine::linalg
