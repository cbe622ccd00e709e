// Internal: applying the reflectors a reduction left behind (tridiagonal, bidiagonal) to a matrix,
// in compact-WY blocks (householder.hpp's larft/larfb), so the back-transformation of eigenvectors
// and singular vectors runs in the GEMM.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "linalg/householder.hpp"
#include "linalg/matview.hpp"

namespace affine::detail::linalg {

/// z [rows x ncols] := H(0) H(1) ... H(k-1) z for reflectors as a reduction leaves them in the
/// column-major a (lda): H(i) acts on rows i + shift .. rows - 1; its v[0] = 1 (not read) sits at
/// a(i, i) moved shift steps along inc (1: down the column, lda: along the row), v[1:] follows at
/// stride inc; its factor is tau[i].
template <class T>
void apply_reflectors(int64_t k, int64_t rows, int64_t shift, const T* a, int64_t lda, int64_t inc,
                      const T* tau, Mat<T> z) {
  constexpr int64_t kBlock = 32;
  if (k <= 0 || z.n == 0) return;
  if (rows <= kBlock && z.n <= kBlock) {
    // Small enough for one block: the reflectors one at a time, last first. Forming T and three
    // GEMMs on scratch from the heap cost more than these few rank-1 updates (eigh of 3 x 3
    // matrices spent ~20% of its time there).
    T work[kBlock];
    for (int64_t i = k - 1; i >= 0; --i) {
      larf_left<T>(tau[i], a + i * (1 + lda) + shift * inc, inc,
                   z.block(i + shift, 0, rows - i - shift, z.n), work);
    }
    return;
  }
  std::vector<T> tbuf(static_cast<size_t>(kBlock * kBlock));
  for (int64_t i0 = (k - 1) / kBlock * kBlock; i0 >= 0; i0 -= kBlock) {
    const int64_t nb = std::min(kBlock, k - i0);
    const int64_t len = rows - i0 - shift;
    // Column j of V is reflector i0 + j, starting (its implicit 1) on row j.
    const Mat<const T> v{a + i0 * (1 + lda) + shift * inc, len, nb, inc, 1 + lda - inc};
    const Mat<T> t = rowmajor(tbuf.data(), nb, nb, nb);
    larft(v, tau + i0, t);
    larfb<T>(Side::left, false, v, t, z.block(i0 + shift, 0, len, z.n));
  }
}

}  // namespace affine::detail::linalg
