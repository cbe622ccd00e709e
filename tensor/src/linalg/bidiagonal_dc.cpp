// Divide and conquer for the SVD of an upper bidiagonal matrix (bidiagonal.hpp, bidiagonal_dc),
// the method of LAPACK's bdsdc (Jessup & Sorensen; Gu & Eisenstat, 1995):
//  - split B at its middle row k: above it B1 (rows 0..k-1, one column more than rows), below it
//    B2, and row k itself with alpha = B(k, k) and beta = B(k, k + 1);
//  - with B1 = U1 [D1 0] W1^T and B2 = U2 [D2 (0)] W2^T solved recursively (the QR iteration
//    below kLeaf), B = diag(U1, 1, U2) M diag(W1, W2)^T where M is D1 and D2 on the diagonal plus
//    row k: alpha times W1's last row, beta times W2's first. After a rotation merges the halves'
//    null-vector columns, M is the arrowhead [z; 0 diag(d_1..)]: first row z, then the diagonal;
//  - M^T M = diag(0, d_1^2, ...) + z z^T, so the singular values of M are the square roots of a
//    secular equation's roots with poles d_j^2 (secular.hpp); deflation, the recomputed z and the
//    vectors follow as in tridiagonal_dc.cpp: right vectors z_j / (d_j^2 - s^2), left vectors
//    (-1, d_j z_j / (d_j^2 - s^2));
//  - U and V of B are the gathered columns times those: GEMMs over each half's rows.
// Where the QR iteration spends ~6 flops per element per rotation on both U and V, nearly all the
// work here is in the GEMMs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "gemm/parallel_threshold.hpp"
#include "linalg/bidiagonal.hpp"
#include "linalg/matview.hpp"
#include "linalg/secular.hpp"
#include "linalg/workspace.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg {
namespace {

// Subproblems up to this size go to the QR iteration (LAPACK's bdsdc uses 25).
constexpr int64_t kLeaf = 32;

// Every subproblem: the nb x (nb + sqre) upper bidiagonal block with diagonal d [nb] and
// superdiagonal e [nb - 1 + sqre]; its left vectors go to the nb x nb block of U at u (ldu), its
// right vectors to the (nb + sqre)-square block of V at v (ldv), both zero on entry. On return
// B = U [diag(d) 0] V^T with d >= 0 unsorted, and (sqre = 1) V's last column spans B's null space.

// A small subproblem: the QR iteration. With sqre = 1, rotations from the right first chase
// B(nb-1, nb) up column nb and out of the matrix (B G = [B' 0], B' square), and V = G [W' 0; 0 1]
// for B' = U' S W'^T.
template <class T>
bool leaf(int64_t nb, int sqre, T* d, const T* e, T* u, int64_t ldu, T* v, int64_t ldv) {
  std::vector<T> ee(static_cast<size_t>(nb + 1), T(0));  // bidiagonal_qr's e [nb]
  std::copy_n(e, nb - 1 + sqre, ee.data());
  for (int64_t i = 0; i < nb; ++i) u[i + i * ldu] = T(1);
  if (sqre == 0) {
    for (int64_t i = 0; i < nb; ++i) v[i + i * ldv] = T(1);
    return bidiagonal_qr(nb, d, ee.data(), u, ldu, v, ldv);
  }
  const int64_t nv = nb + 1;
  std::vector<T> g(static_cast<size_t>(nv * nv), T(0)), w(static_cast<size_t>(nb * nb), T(0));
  for (int64_t i = 0; i < nv; ++i) g[static_cast<size_t>(i + i * nv)] = T(1);
  for (int64_t i = 0; i < nb; ++i) w[static_cast<size_t>(i + i * nb)] = T(1);
  T f = ee[static_cast<size_t>(nb - 1)];
  for (int64_t i = nb - 1; i >= 0 && f != T(0); --i) {
    // Columns (i, nb): (d_i, f) in row i becomes (r, 0); row i - 1's e_{i-1} leaves the next f.
    const T r = std::hypot(d[i], f), c = d[i] / r, s = f / r;
    d[i] = r;
    if (i > 0) {
      f = -s * ee[static_cast<size_t>(i - 1)];
      ee[static_cast<size_t>(i - 1)] *= c;
    }
    T* gi = g.data() + i * nv;
    T* gn = g.data() + nb * nv;
    for (int64_t row = 0; row < nv; ++row) {
      const T x = gi[row], y = gn[row];
      gi[row] = c * x + s * y;
      gn[row] = -s * x + c * y;
    }
  }
  if (!bidiagonal_qr(nb, d, ee.data(), u, ldu, w.data(), nb)) return false;
  const Mat<const T> gm{g.data(), nv, nv, 1, nv}, wm{w.data(), nb, nb, 1, nb};
  const Mat<T> vm{v, nv, nv, 1, ldv};
  gemm<T>(T(1), gm.block(0, 0, nv, nb), wm, T(0), vm.block(0, 0, nv, nb));
  std::copy_n(g.data() + nb * nv, nv, v + nb * ldv);
  return true;
}

// The merge: the halves' results are in u, v and d; alpha = B(k, k) and beta = B(k, k + 1) were
// read by the caller before the halves ran (they do not write d[k], but the merge does).
template <class T>
void merge(int64_t nb, int sqre, int64_t k, T alpha, T beta, T* d, T* u, int64_t ldu, T* v,
           int64_t ldv) {
  const T eps = std::numeric_limits<T>::epsilon();
  const int64_t nv = nb + sqre;
  // The arrowhead's coordinates a: 0 the corner (row k of B; the merged null column of the
  // halves), 1..k the upper half's triplets (its column a - 1), k+1..nb-1 the lower half's (its
  // column a). gu column a: the left vector of row a; gv column a: the right vector of column a;
  // gv column nb (sqre = 1): B's null vector.
  Workspace<T> gu(nb * nb), gv(nv * nv);
  std::vector<T> z(static_cast<size_t>(nb)), dv(static_cast<size_t>(nb));
  std::vector<int> ukind(static_cast<size_t>(nb)), vkind(static_cast<size_t>(nb));
  const auto ucol = [&](int64_t a) { return gu.data() + a * nb; };
  const auto vcol = [&](int64_t a) { return gv.data() + a * nv; };
  std::fill_n(ucol(0), nb, T(0));
  ucol(0)[k] = T(1);
  for (int64_t a = 1; a < nb; ++a) {
    const int64_t src = a <= k ? a - 1 : a;
    std::copy_n(u + src * ldu, nb, ucol(a));
    std::copy_n(v + src * ldv, nv, vcol(a));
    z[static_cast<size_t>(a)] = a <= k ? alpha * v[k + src * ldv] : beta * v[k + 1 + src * ldv];
    dv[static_cast<size_t>(a)] = d[src];
    ukind[static_cast<size_t>(a)] = vkind[static_cast<size_t>(a)] = a <= k ? kTop : kBottom;
  }
  // The halves' null vectors: the upper's in column k (rows 0..k), the lower's in column nb (rows
  // k+1.., sqre = 1). Row k of M meets them at a0 and b0; a rotation leaves hypot(a0, b0) on one.
  const T a0 = alpha * v[k + k * ldv], b0 = sqre ? beta * v[k + 1 + nb * ldv] : T(0);
  const T r = std::hypot(a0, b0);
  if (sqre == 0 || r == T(0)) {
    std::copy_n(v + k * ldv, nv, vcol(0));
    if (sqre) std::copy_n(v + nb * ldv, nv, vcol(nb));
    z[0] = sqre ? r : a0;
  } else {
    const T c = a0 / r, s = b0 / r;
    for (int64_t row = 0; row < nv; ++row) {
      const T x = v[row + k * ldv], y = v[row + nb * ldv];
      vcol(0)[row] = c * x + s * y;
      vcol(nb)[row] = -s * x + c * y;
    }
    z[0] = r;
  }
  ukind[0] = kTop;  // unused: the corner's left vector is e_k, handled apart
  vkind[0] = sqre ? kMixed : kTop;
  dv[0] = 0;

  // The arrowhead scaled to norm ~1 (its largest entry, as LAPACK's lasd1), so that the squares
  // of the secular equation neither underflow nor overflow; scale is undone on the values.
  T scale = std::max(std::abs(alpha), std::abs(beta));
  for (int64_t a = 1; a < nb; ++a) scale = std::max(scale, dv[static_cast<size_t>(a)]);
  if (scale == T(0)) {  // a zero block: every singular value 0, the gathered vectors as they are
    for (int64_t a = 0; a < nb; ++a) {
      d[a] = 0;
      std::copy_n(ucol(a), nb, u + a * ldu);
      std::copy_n(vcol(a), nv, v + a * ldv);
    }
    if (sqre) std::copy_n(vcol(nb), nv, v + nb * ldv);
    return;
  }
  for (int64_t a = 0; a < nb; ++a) {
    dv[static_cast<size_t>(a)] /= scale;
    z[static_cast<size_t>(a)] /= scale;
  }
  // Deflation. tol is a few ulps of ||M||; raising a tiny z_0 or d_a to it changes B by that much.
  const T tol = 8 * eps;
  if (std::abs(z[0]) <= tol) z[0] = tol;
  for (int64_t a = 1; a < nb; ++a)
    dv[static_cast<size_t>(a)] = std::max(dv[static_cast<size_t>(a)], tol);
  std::vector<int64_t> order(static_cast<size_t>(nb - 1));
  std::iota(order.begin(), order.end(), int64_t{1});
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return dv[static_cast<size_t>(x)] < dv[static_cast<size_t>(y)];
  });
  // The corner stays: the deflation runs over the other coordinates.
  std::vector<int64_t> kept(static_cast<size_t>(nb)), deflated(static_cast<size_t>(nb));
  const auto rotate = [&](int64_t p, int64_t a, T c, T s) {  // the same on rows and columns
    rotate_pair(ucol(p), ucol(a), nb, c, s);
    rotate_pair(vcol(p), vcol(a), nv, c, s);
    if (ukind[static_cast<size_t>(p)] != ukind[static_cast<size_t>(a)])
      ukind[static_cast<size_t>(a)] = kMixed;
    if (vkind[static_cast<size_t>(p)] != vkind[static_cast<size_t>(a)])
      vkind[static_cast<size_t>(a)] = kMixed;
  };
  kept[0] = 0;
  const std::pair<int64_t, int64_t> counts =
      deflate(order.data(), nb - 1, dv.data(), z.data(), T(1), tol, rotate, kept.data() + 1,
              deflated.data());
  kept.resize(static_cast<size_t>(1 + counts.first));
  deflated.resize(static_cast<size_t>(counts.second));
  const int64_t K = static_cast<int64_t>(kept.size());

  // The arrowhead restricted to the kept coordinates: poles dl^2 (dl[0] = 0), weights zl.
  std::vector<T> dl(static_cast<size_t>(K)), zl(static_cast<size_t>(K)),
      sigma(static_cast<size_t>(K));
  T zz = 0;
  for (int64_t t = 0; t < K; ++t) {
    dl[static_cast<size_t>(t)] = dv[static_cast<size_t>(kept[static_cast<size_t>(t)])];
    zl[static_cast<size_t>(t)] = z[static_cast<size_t>(kept[static_cast<size_t>(t)])];
    zz += zl[static_cast<size_t>(t)] * zl[static_cast<size_t>(t)];
  }
  dl[0] = 0;
  Workspace<T> delta(K * K);
  std::vector<SecularRoot<T>> roots(static_cast<size_t>(K));
  secular_roots(K, dl.data(), zl.data(), T(1), zz, true, delta.data(), roots.data());
  for (int64_t i = 0; i < K; ++i) {
    const SecularRoot<T>& root = roots[static_cast<size_t>(i)];
    const T o = dl[static_cast<size_t>(root.origin)];
    sigma[static_cast<size_t>(i)] = std::sqrt(o * o + root.mu) * scale;
  }
  recompute_z(K, dl.data(), T(1), true, delta.data(), zl.data());

  // The kept columns of gu (all but the corner) and of gv, each grouped by kind; the arrowhead's
  // left (x) and right (y) vectors with their rows in the same order.
  const Grouping gU = group_by_kind(
                     K - 1,
                     [&](int64_t t) {
                       return ukind[static_cast<size_t>(kept[static_cast<size_t>(t + 1)])];
                     }),
                 gV = group_by_kind(K, [&](int64_t t) {
                   return vkind[static_cast<size_t>(kept[static_cast<size_t>(t)])];
                 });
  Workspace<T> ug(nb * std::max<int64_t>(K - 1, 1)), vg(nv * K), x(std::max<int64_t>(K - 1, 1) * K);
  for (int64_t t = 0; t < K; ++t) {
    const int64_t a = kept[static_cast<size_t>(t)];
    if (t > 0) std::copy_n(ucol(a), nb, ug.data() + gU.slot[static_cast<size_t>(t - 1)] * nb);
    std::copy_n(vcol(a), nv, vg.data() + gV.slot[static_cast<size_t>(t)] * nv);
  }
  // Column i of x and y from delta's column i, y written over it. The columns are independent: on
  // threads when their K^2 divisions pay for it.
  std::vector<T> x0(static_cast<size_t>(K));  // the corner's row of x: row k of U
  T* y = delta.data();
  const int threads = gemm::worth_threads<T>(16 * K * K, 1) ? num_threads() : 1;
  const int64_t tasks = std::min<int64_t>(K, int64_t{4} * threads);
  parallel_for(tasks, threads, [&](int64_t task) {
    std::vector<T> col(static_cast<size_t>(K));
    for (int64_t i = K * task / tasks; i < K * (task + 1) / tasks; ++i) {
      T* del = delta.data() + i * K;
      T ynorm = 0, xnorm = 1;  // x's corner entry is -1
      for (int64_t t = 0; t < K; ++t) {
        const T yt = zl[static_cast<size_t>(t)] / del[t];
        col[static_cast<size_t>(gV.slot[static_cast<size_t>(t)])] = yt;
        ynorm += yt * yt;
        if (t > 0) {
          const T xt = dl[static_cast<size_t>(t)] * yt;
          x[gU.slot[static_cast<size_t>(t - 1)] + i * (K - 1)] = xt;
          xnorm += xt * xt;
        }
      }
      const T yinv = T(1) / std::sqrt(ynorm), xinv = T(1) / std::sqrt(xnorm);
      for (int64_t t = 0; t < K; ++t) y[t + i * K] = col[static_cast<size_t>(t)] * yinv;
      for (int64_t t = 0; t < K - 1; ++t) x[t + i * (K - 1)] *= xinv;
      x0[static_cast<size_t>(i)] = -xinv;
    }
  });

  // U's first K columns: the upper rows from the top and mixed columns, row k from the corner,
  // the lower rows from the mixed and bottom ones; V's likewise over rows 0..k and k+1...
  const Mat<T> um{u, nb, nb, 1, ldu}, vm{v, nv, nv, 1, ldv};
  {
    const Mat<const T> g{ug.data(), nb, K - 1, 1, nb}, xm{x.data(), K - 1, K, 1, K - 1};
    const int64_t n1 = gU.count[kTop], n2 = gU.count[kMixed];
    gemm<T>(T(1), g.block(0, 0, k, n1 + n2), xm.block(0, 0, n1 + n2, K), T(0),
            um.block(0, 0, k, K));
    gemm<T>(T(1), g.block(k + 1, n1, nb - k - 1, K - 1 - n1), xm.block(n1, 0, K - 1 - n1, K), T(0),
            um.block(k + 1, 0, nb - k - 1, K));
    for (int64_t i = 0; i < K; ++i) u[k + i * ldu] = x0[static_cast<size_t>(i)];
  }
  {
    const Mat<const T> g{vg.data(), nv, K, 1, nv}, ym{y, K, K, 1, K};
    const int64_t n1 = gV.count[kTop], n2 = gV.count[kMixed];
    gemm<T>(T(1), g.block(0, 0, k + 1, n1 + n2), ym.block(0, 0, n1 + n2, K), T(0),
            vm.block(0, 0, k + 1, K));
    gemm<T>(T(1), g.block(k + 1, n1, nv - k - 1, K - n1), ym.block(n1, 0, K - n1, K), T(0),
            vm.block(k + 1, 0, nv - k - 1, K));
  }
  for (int64_t i = 0; i < K; ++i) d[i] = sigma[static_cast<size_t>(i)];
  for (size_t t = 0; t < deflated.size(); ++t) {
    const int64_t a = deflated[t], col = K + static_cast<int64_t>(t);
    d[col] = dv[static_cast<size_t>(a)] * scale;
    std::copy_n(ucol(a), nb, u + col * ldu);
    std::copy_n(vcol(a), nv, v + col * ldv);
  }
  if (sqre) std::copy_n(vcol(nb), nv, v + nb * ldv);
}

template <class T>
bool solve(int64_t nb, int sqre, T* d, const T* e, T* u, int64_t ldu, T* v, int64_t ldv) {
  if (nb <= kLeaf) return leaf(nb, sqre, d, e, u, ldu, v, ldv);
  const int64_t k = nb / 2;
  const T alpha = d[k], beta = e[k];
  // The halves are independent: at the top they run on two threads, their GEMMs then on one
  // (nested parallel regions run serially), and the merges above them on all.
  bool ok[2] = {true, true};
  const int threads = gemm::worth_threads<T>(nb * nb * nb, 1) ? 2 : 1;  // ~nb^3 multiply-adds
  parallel_for(2, threads, [&](int64_t h) {
    ok[h] = h == 0 ? solve(k, 1, d, e, u, ldu, v, ldv)
                   : solve(nb - k - 1, sqre, d + k + 1, e + k + 1, u + (k + 1) * (1 + ldu), ldu,
                           v + (k + 1) * (1 + ldv), ldv);
  });
  if (!ok[0] || !ok[1]) return false;
  merge(nb, sqre, k, alpha, beta, d, u, ldu, v, ldv);
  return true;
}

}  // namespace

template <class T>
bool bidiagonal_dc(int64_t n, T* d, const T* e, T* u, int64_t ldu, T* v, int64_t ldv) {
  for (int64_t j = 0; j < n; ++j) {
    std::fill_n(u + j * ldu, n, T(0));
    std::fill_n(v + j * ldv, n, T(0));
  }
  if (n == 0) return true;
  return solve(n, 0, d, e, u, ldu, v, ldv);
}

template bool bidiagonal_dc(int64_t, float*, const float*, float*, int64_t, float*, int64_t);
template bool bidiagonal_dc(int64_t, double*, const double*, double*, int64_t, double*, int64_t);

}  // namespace affine::detail::linalg
