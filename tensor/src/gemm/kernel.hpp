// Internal: the contract between the GEMM driver (gemm.cpp, small.cpp) and the per-ISA kernels
// (kernel_generic.cpp, kernel_avx2.cpp, kernel_avx512.cpp).
//
// Packed formats (written by the driver, read by the micro-kernel):
//  - A micro-panel: MR rows x kc columns stored column by column, a[p * MR + i] = A(i, p). Rows
//    past the edge of A are zero, so the kernel never needs to know how many rows are real.
//  - B micro-panel: kc rows x NR columns stored row by row, b[p * NR + j] = B(p, j), zero-padded
//    the same way.
// Micro-kernel: C[m x n] := alpha * (A_panel * B_panel)[0:m, 0:n] + beta * C, for m <= MR and
// n <= NR, C addressed through (rs_c, cs_c). beta == 0 means C is write-only (never read, so NaN
// or garbage there cannot leak). The full MR x NR product is formed in registers; only the
// store is trimmed to m x n. Full and trimmed tiles round identically (same vector ops), so the
// tiling of C, which the thread count may change, never changes a result bit.
//
// Small-problem kernels (no packing; used by small.cpp) work on operands as they lie in memory:
//  - rowbcast: vectorised along j; requires B rows contiguous (cs_b == 1). A is read through
//    (rs_a, cs_a) one broadcast scalar at a time. Good when k is tiny or m is tiny.
//  - dot: vectorised along k; requires A rows and B columns contiguous (cs_a == 1, rs_b == 1).
//    Good when n is tiny and k is not.
// Skinny kernels (skinny_impl.hpp): linear's one-pass forward, dX, and dW + db of layers with at
// most 8 inputs or outputs.
// Both follow the same beta rule and are deterministic per element (independent of how rows
// are split across threads).
#pragma once

#include <cstdint>
#include <vector>

#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"

namespace affine::detail::gemm {

template <class T>
using MicroKernel = void (*)(int64_t kc, T alpha, const T* a, const T* b, T beta, T* c,
                             int64_t rs_c, int64_t cs_c, int64_t m, int64_t n);

/// Packs one micro-panel: dst[p * width + r] = src[r * rs_r + p * rs_p] for r < rows, zero up to
/// the panel width (MR for A, NR for B), p < kc.
template <class T>
using PackKernel = void (*)(int64_t kc, int64_t rows, const T* src, int64_t rs_r, int64_t rs_p,
                            T* dst);

template <class T>
using RowBcastKernel = void (*)(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a,
                                int64_t cs_a, const T* b, int64_t rs_b, T beta, T* c, int64_t rs_c,
                                int64_t cs_c);

template <class T>
using DotKernel = void (*)(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a,
                           const T* b, int64_t cs_b, T beta, T* c, int64_t rs_c, int64_t cs_c);

/// Rows per chunk of the skinny dW/db sums: each chunk is summed from zero in registers, then
/// added to the running total (float32 error grows with the chunk length plus the chunk count).
inline constexpr int64_t kSkinnyChunkRows = 128;

/// What the skinny product writes: c = bias + a B, c += a B, c = (a B) * (1 - y^2), or
/// c = tanh(bias + a B) (vmath's tanh applied in registers: the same bits as a set product
/// followed by vmath's tanh over the array; std::tanh per element in double).
enum class SkinnyMode { set, accumulate, tanh_grad, tanh };

/// Skinny kernels (skinny_impl.hpp): c[r, :m] (op)= bias + a[r, :k] B for r < rows, k <= 8,
/// B [k, m] contiguous, a/c/y with unit column stride and row strides lda/ldc/ldy.
template <class T>
using SkinnyProductKernel = void (*)(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda,
                                     const T* b, const T* bias, SkinnyMode mode, const T* y,
                                     int64_t ldy, T* c, int64_t ldc);

/// acc[i * q + j] = sum_r a[r, i] x[r, j] (i < p <= 8, j < q), overwritten; a_sums / x_sums
/// (when not null) get the column sums of a ([p]) and x ([q]). With y (not null, [rows, q], row
/// stride ldy), every x[r, j] is taken as x[r, j] (1 - y[r, j]^2): the gradient through a tanh of
/// output y. Unit column strides.
template <class T>
using SkinnyOuterKernel = void (*)(int64_t rows, int64_t p, int64_t q, const T* a, int64_t lda,
                                   const T* x, int64_t ldx, const T* y, int64_t ldy, T* acc,
                                   T* a_sums, T* x_sums);

/// The widest input and output of a two-layer block that skinny_tanh_layers takes.
inline constexpr int64_t kTanhLayersMax = 4;

/// One chunk of rows of the backward of z = tanh(x W1^T + b1) W2^T + b2 with hidden width q, from
/// g = dLoss/dz [rows, o], W2 [o, q] (contiguous), the hidden tanh h [rows, q] (contiguous) and
/// x [rows, p] (o, p <= kTanhLayersMax; else returns false having done nothing):
///   dz = (g W2) (1 - h^2), rounded as skinny_product's tanh_grad, into dz_out (row stride q)
///   when not null; acc2[i * q + j] = sum_r g[r, i] h[r, j], g_sums[i] = sum_r g[r, i];
///   acc1[i * q + j] = sum_r x[r, i] dz[r, j], dz_sums[j] = sum_r dz[r, j];
/// every sum from zero over the chunk's rows and overwritten, as skinny_outer sums one chunk, in
/// one pass over h (dz stays in registers).
template <class T>
using SkinnyTanhLayersKernel = bool (*)(int64_t rows, int64_t o, int64_t p, int64_t q, const T* g,
                                        int64_t ldg, const T* w2, const T* h, const T* x,
                                        int64_t ldx, T* dz_out, T* acc2, T* g_sums, T* acc1,
                                        T* dz_sums);

/// sums[j] = sum_r g[r, j] for j < m (overwritten); unit column stride, row stride ldg.
template <class T>
using ColumnSumsKernel = void (*)(int64_t rows, int64_t m, const T* g, int64_t ldg, T* sums);

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (a transposing copy).
template <class T>
using TransposeKernel = void (*)(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst,
                                 int64_t ldd);

/// Everything one ISA provides for one element type.
template <class T>
struct Kernels {
  MicroKernel<T> micro;  ///< the packed-path micro-kernel
  int mr;                ///< register tile rows (A micro-panel height)
  int nr;                ///< register tile columns (B micro-panel width)
  int vec;               ///< SIMD width in elements (small-path cost model)
  PackKernel<T> pack_a;  ///< packs an A micro-panel (width mr)
  PackKernel<T> pack_b;  ///< packs a B micro-panel (width nr)
  RowBcastKernel<T> rowbcast;
  DotKernel<T> dot;
  SkinnyProductKernel<T> skinny_product;         ///< linear's skinny forward and dX
  SkinnyOuterKernel<T> skinny_outer;             ///< linear's skinny dW and db, one pass
  ColumnSumsKernel<T> column_sums;               ///< db of a wide layer
  SkinnyTanhLayersKernel<T> skinny_tanh_layers;  ///< linear_tanh_linear's backward, per chunk
  TransposeKernel<T> transpose;  ///< lays a transposed operand out for the small path
};

/// The ISA's kernels for float and double.
struct IsaKernels {
  Kernels<float> f32;
  Kernels<double> f64;
};

const IsaKernels& kernels_generic();
#if defined(__x86_64__) || defined(_M_X64)
const IsaKernels& kernels_avx2();
const IsaKernels& kernels_avx512();
#endif

/// The kernels of active_isa(), chosen once.
const IsaKernels& active_kernels();

template <class T>
const Kernels<T>& active_kernels_for() {
  if constexpr (sizeof(T) == 4) {
    return active_kernels().f32;
  } else {
    return active_kernels().f64;
  }
}

/// Cache blocking of the packed path (the BLIS parameters). mr/nr come from the kernel; kc, mc
/// and nc from the cache sizes, see blocking_for() in gemm.cpp for the reasoning.
struct Blocking {
  int64_t mr, nr, kc, mc, nc;
};

template <class T>
Blocking blocking_for(const Kernels<T>& k);

/// The blocking the packed path runs with: blocking_for() of the active kernels, or the user's
/// AFFINE_GEMM_BLOCKING=mc,kc,nc (mc, nc rounded up to multiples of mr, nr), decided once per
/// process on first use. Throws affine::Error naming the variable and its value if malformed.
template <class T>
const Blocking& gemm_blocking();

/// The packed path with an explicit blocking (gemm_blocking() in production; the tuning command
/// and the tests pass others). Arguments as gemm_small; m, n, k > 0, alpha != 0.
template <class T>
void gemm_packed(const Blocking& blk, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 int64_t rs_a, int64_t cs_a, const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c,
                 int64_t rs_c, int64_t cs_c);

/// The most multiply-adds a product that is neither skinny nor tiny-k may have to take the small
/// path (cubes whose B fills a share of L2, or AFFINE_GEMM_SMALL_MAX's cube; see small.cpp);
/// contiguous = C's rows are, and B has a unit stride either way (stored or transposed). Throws
/// affine::Error naming the variable and its value if AFFINE_GEMM_SMALL_MAX is malformed.
template <class T>
int64_t small_max_work(bool contiguous);

/// The small/skinny path (small.cpp): returns false (having done nothing) when the problem is
/// better served by the packed path. Arguments as gemm_strided, already validated, with m, n,
/// k > 0 and alpha != 0.
template <class T>
bool gemm_small(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
                const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c, int64_t cs_c);

/// The small path's kernels whatever the size (gemm_small without its limit): what gemm_tune
/// times against the packed path to find where the limit belongs on this machine.
template <class T>
void gemm_unpacked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
                   const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c,
                   int64_t cs_c);

/// The side whose limit would have saved the most over the sides measured (timings smallest
/// first; the first side when the unpacked path never gains): the side where the running sum of
/// log(unpacked / packed speed) peaks. What gemm_tune reports.
int64_t small_side_from(const std::vector<GemmSmallTiming>& timings);

/// 64-byte aligned scratch that only grows, one per thread and purpose, so steady-state calls
/// allocate nothing. Returns a buffer of at least `bytes` bytes.
void* scratch(int slot, int64_t bytes);
enum ScratchSlot : int {
  kScratchA = 0,
  kScratchB = 1,
  kScratchSmall = 2,
  kScratchLinear = 3,
  kScratchLinearBlock = 4,  ///< a worker's blocks inside linear_tanh_linear's backward
  kScratchSlots = 5
};

}  // namespace affine::detail::gemm
