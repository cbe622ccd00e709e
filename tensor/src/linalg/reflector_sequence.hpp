// Internal: applying the reflectors a reduction left behind (tridiagonal, bidiagonal) to a matrix,
// in compact-WY blocks (householder.hpp's larft/larfb), so the back-transformation of eigenvectors
// and singular vectors runs in the GEMM.
#pragma once

#include <algorithm>
#include <cstdint>

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
  T tbuf[kBlock * kBlock];  // larft's T (on the stack: small products come here per matrix)
  for (int64_t i0 = (k - 1) / kBlock * kBlock; i0 >= 0; i0 -= kBlock) {
    const int64_t nb = std::min(kBlock, k - i0);
    const int64_t len = rows - i0 - shift;
    // Column j of V is reflector i0 + j, starting (its implicit 1) on row j.
    const Mat<const T> v{a + i0 * (1 + lda) + shift * inc, len, nb, inc, 1 + lda - inc};
    reflect_block_left<T>(v, tau + i0, false, z.block(i0 + shift, 0, len, z.n), tbuf);
  }
}

}  // namespace affine::detail::linalg
