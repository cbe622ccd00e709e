// Divide and conquer for the symmetric tridiagonal eigenproblem (tridiagonal.hpp,
// tridiagonal_dc), the method of LAPACK's stedc:
//  - Cuppen's split: T = diag(T1, T2) + |beta| w w^T, with beta the subdiagonal element at the
//    split and w = e_{m-1} + sign(beta) e_m, once |beta| is taken off T1's last and T2's first
//    diagonal element;
//  - the halves solved recursively (T_i = Q_i D_i Q_i^T; the QL iteration below kLeaf), so that
//    T = Q (D + rho z z^T) Q^T with Q = diag(Q1, Q2) and z = Q^T w: T1's eigenvectors' last row
//    above T2's first row;
//  - deflation: an eigenpair of D + rho z z^T is already known where rho |z_j| is negligible, or
//    where two entries of D are so close that a rotation zeroing one z_j changes the matrix by a
//    negligible amount (Dongarra & Sorensen);
//  - the others are the roots of the secular equation 1 + rho sum_j z_j^2 / (d_j - x) = 0, one
//    between each pair of poles (secular.hpp);
//  - their eigenvectors from z recomputed so that the computed roots are the exact eigenvalues of
//    D + rho zhat zhat^T (Gu & Eisenstat, 1994): then the vectors are orthogonal to working
//    precision however close the roots, which the plain formula z_j / (d_j - x) is not;
//  - T's eigenvectors = Q times those: two GEMMs, one per half of the rows, each over the columns
//    with nonzeros there (a column of Q1, one of Q2, or one mixed by a deflating rotation).
// Nearly all the O(n^3) work is in those GEMMs, against the QL iteration's rotations (6 flops per
// element per rotation, ~5 n^3 in all) — the reason LAPACK's syevd uses this method.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "gemm/parallel_threshold.hpp"
#include "linalg/matview.hpp"
#include "linalg/secular.hpp"
#include "linalg/tridiagonal.hpp"
#include "linalg/workspace.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg {
namespace {

// Subproblems up to this size go to the QL iteration: below it a merge's bookkeeping outweighs
// its GEMMs (LAPACK's stedc uses 25).
constexpr int64_t kLeaf = 32;

// Buffers for the whole problem (N = its size). A subproblem at offset off of size nb uses
// entries [off, off + nb) of the vectors and nb * nb entries from off * N of the matrices: the
// regions of two sibling subproblems are disjoint, so they can run at the same time.
template <class T>
struct DcWork {
  int64_t N;
  Workspace<T> gathered;  ///< the merge's columns of Q in their new order (nb x nb)
  Workspace<T> delta;     ///< d_j - lambda_i (k x k), then the merge's eigenvectors over it
  std::vector<T> z, dsort, zsort, e;
  std::vector<int64_t> order, kept, deflated;
  std::vector<int> kind;

  explicit DcWork(int64_t n)
      : N(n),
        gathered(n * n),
        delta(n * n),
        z(static_cast<size_t>(n)),
        dsort(static_cast<size_t>(n)),
        zsort(static_cast<size_t>(n)),
        e(static_cast<size_t>(n)),
        order(static_cast<size_t>(n)),
        kept(static_cast<size_t>(n)),
        deflated(static_cast<size_t>(n)),
        kind(static_cast<size_t>(n)) {}
};

// One merge: the block of Q at q (nb x nb, column-major, ldq) holds diag(Q1, Q2) with Q1 m x m,
// the rest zero, and d [nb] the halves' eigenvalues (in Q's column order); beta is the split's
// subdiagonal element. On return d and Q hold the block's eigenpairs, in no particular order.
template <class T>
void merge(int64_t nb, int64_t m, int64_t off, T* d, T beta, T* q, int64_t ldq, DcWork<T>& w) {
  const T eps = std::numeric_limits<T>::epsilon();
  T* z = w.z.data() + off;
  T* dl = w.dsort.data() + off;
  T* zl = w.zsort.data() + off;
  int64_t* order = w.order.data() + off;
  int64_t* kept = w.kept.data() + off;
  int64_t* deflated = w.deflated.data() + off;
  int* kind = w.kind.data() + off;
  T* gathered = w.gathered.data() + off * w.N;
  T* delta = w.delta.data() + off * w.N;

  // z = Q^T w / sqrt(2) (unit length: the rows of Q1 and Q2 are), rho = 2 |beta|.
  const T sign = beta < 0 ? T(-1) : T(1), inv_sqrt2 = T(1) / std::sqrt(T(2));
  const T rho = 2 * std::abs(beta);
  T dmax = 0;
  for (int64_t j = 0; j < nb; ++j) {
    z[j] = (j < m ? q[(m - 1) + j * ldq] : sign * q[m + j * ldq]) * inv_sqrt2;
    kind[j] = j < m ? kTop : kBottom;
    dmax = std::max(dmax, std::abs(d[j]));
  }
  std::iota(order, order + nb, int64_t{0});
  std::stable_sort(order, order + nb, [&](int64_t x, int64_t y) { return d[x] < d[y]; });

  // Deflation, in ascending order of d: tol is a few ulps of ||D + rho z z^T|| (the largest |d_j|
  // or rho bounds it within a factor of 2), so what is dropped is a backward error of that size.
  const T tol = 8 * eps * std::max(dmax, rho);
  const auto rotate = [&](int64_t p, int64_t j, T c, T s) {
    rotate_pair(q + p * ldq, q + j * ldq, nb, c, s);
    if (kind[p] != kind[j]) kind[j] = kMixed;
  };
  const std::pair<int64_t, int64_t> counts =
      deflate(order, nb, d, z, rho, tol, rotate, kept, deflated);
  const int64_t k = counts.first, nd = counts.second;

  // The kept columns grouped by kind (top, mixed, bottom), each group in ascending d; the
  // deflated ones after them.
  const Grouping groups = group_by_kind(k, [&](int64_t t) { return kind[kept[t]]; });
  const std::vector<int64_t>& slot = groups.slot;
  const int64_t n1 = groups.count[kTop], n2 = groups.count[kMixed];
  for (int64_t t = 0; t < k; ++t)
    std::copy_n(q + kept[t] * ldq, nb, gathered + slot[static_cast<size_t>(t)] * nb);
  for (int64_t t = 0; t < nd; ++t) std::copy_n(q + deflated[t] * ldq, nb, gathered + (k + t) * nb);

  std::vector<T> dvals(static_cast<size_t>(nd));  // before d's first k entries become the roots
  for (int64_t t = 0; t < nd; ++t) dvals[static_cast<size_t>(t)] = d[deflated[t]];
  if (k > 0) {
    T zz = 0;
    for (int64_t t = 0; t < k; ++t) {
      dl[t] = d[kept[t]];
      zl[t] = z[kept[t]];
      zz += zl[t] * zl[t];
    }
    // delta column i: d_j - lambda_i (the roots are independent of each other).
    std::vector<SecularRoot<T>> roots(static_cast<size_t>(k));
    secular_roots(k, dl, zl, rho, zz, false, delta, roots.data());
    std::vector<T> lambda(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) {
      const SecularRoot<T>& r = roots[static_cast<size_t>(i)];
      lambda[static_cast<size_t>(i)] = dl[r.origin] + r.mu;
    }
    recompute_z(k, dl, rho, false, delta, zl);
    // Eigenvector i of D + rho zhat zhat^T: zhat_j / (d_j - lambda_i), normalized, its rows in
    // the gathered order, written over delta's column i. The columns are independent: on threads
    // when their k^2 divisions pay for it.
    T* vecs = delta;
    const int threads = gemm::worth_threads<T>(16 * k * k, 1) ? num_threads() : 1;
    const int64_t tasks = std::min<int64_t>(k, int64_t{4} * threads);
    parallel_for(tasks, threads, [&](int64_t task) {
      std::vector<T> col(static_cast<size_t>(k));
      for (int64_t i = k * task / tasks; i < k * (task + 1) / tasks; ++i) {
        T* v = vecs + i * k;
        T norm2 = 0;
        for (int64_t t = 0; t < k; ++t) {
          const T x = zl[t] / v[t];
          col[static_cast<size_t>(slot[static_cast<size_t>(t)])] = x;
          norm2 += x * x;
        }
        const T inv = T(1) / std::sqrt(norm2);
        for (int64_t t = 0; t < k; ++t) v[t] = col[static_cast<size_t>(t)] * inv;
      }
    });
    // Q's first k columns = gathered columns x vecs: T1's rows from the top and mixed columns,
    // T2's from the mixed and bottom ones.
    const Mat<const T> g{gathered, nb, nb, 1, nb}, v{vecs, k, k, 1, k};
    const Mat<T> out{q, nb, nb, 1, ldq};
    gemm<T>(T(1), g.block(0, 0, m, n1 + n2), v.block(0, 0, n1 + n2, k), T(0),
            out.block(0, 0, m, k));
    gemm<T>(T(1), g.block(m, n1, nb - m, k - n1), v.block(n1, 0, k - n1, k), T(0),
            out.block(m, 0, nb - m, k));
    for (int64_t i = 0; i < k; ++i) d[i] = lambda[static_cast<size_t>(i)];
  }
  for (int64_t t = 0; t < nd; ++t) {
    d[k + t] = dvals[static_cast<size_t>(t)];
    std::copy_n(gathered + (k + t) * nb, nb, q + (k + t) * ldq);
  }
}

// The subproblem of size nb at offset off: d [nb], e [nb - 1], Q's block at q (zero on entry).
template <class T>
bool solve(int64_t nb, int64_t off, T* d, const T* e, T* q, int64_t ldq, DcWork<T>& w) {
  if (nb <= kLeaf) {
    T* el = w.e.data() + off;
    std::copy_n(e, nb - 1, el);
    for (int64_t i = 0; i < nb; ++i) q[i + i * ldq] = T(1);
    return tridiagonal_ql(nb, d, el, q, ldq);
  }
  const int64_t m = nb / 2;
  const T beta = e[m - 1];
  d[m - 1] -= std::abs(beta);
  d[m] -= std::abs(beta);
  // The halves are independent: at the top they run on two threads, their GEMMs then on one
  // (nested parallel regions run serially), and the merges above them on all.
  bool ok[2] = {true, true};
  const int threads = gemm::worth_threads<T>(nb * nb * nb, 1) ? 2 : 1;  // ~nb^3 multiply-adds
  parallel_for(2, threads, [&](int64_t h) {
    ok[h] = h == 0 ? solve(m, off, d, e, q, ldq, w)
                   : solve(nb - m, off + m, d + m, e + m, q + m * (1 + ldq), ldq, w);
  });
  if (!ok[0] || !ok[1]) return false;
  merge(nb, m, off, d, beta, q, ldq, w);
  return true;
}

}  // namespace

template <class T>
bool tridiagonal_dc(int64_t n, T* d, const T* e, T* q, int64_t ldq) {
  for (int64_t j = 0; j < n; ++j) std::fill_n(q + j * ldq, n, T(0));
  if (n == 0) return true;
  if (n <= kLeaf) {  // one leaf: no merge buffers (for a batch of small matrices they dominated)
    T el[kLeaf];
    std::copy_n(e, n - 1, el);
    for (int64_t i = 0; i < n; ++i) q[i + i * ldq] = T(1);
    return tridiagonal_ql(n, d, el, q, ldq);
  }
  DcWork<T> w(n);
  return solve(n, 0, d, e, q, ldq, w);
}

template bool tridiagonal_dc(int64_t, float*, const float*, float*, int64_t);
template bool tridiagonal_dc(int64_t, double*, const double*, double*, int64_t);

}  // namespace affine::detail::linalg
