// Internal: the skinny kernels of the fused linear layer (linear.cpp), written once over the SIMD
// traits S of kernel_impl.hpp and instantiated by each ISA's translation unit beside the packed
// micro-kernel (kernel_generic.cpp, kernel_avx2.cpp, kernel_avx512.cpp).
//
// Small networks are made of skinny products: a layer with 2 inputs or 2 outputs multiplies a
// [rows, 100] matrix by a [100, 2] or [2, 100] one. For those, packing and big register tiles
// cost more than the arithmetic, and so do the separate bias copy and column-sum passes; these
// kernels do each step in one pass over the rows:
//  - product: c[r, :] = bias + a[r, :k] B for k <= kSkinny (B [k, m] contiguous), vectorised
//    along m; or c[r, :] += a[r, :k] B; or c[r, :] = (a[r, :k] B) * (1 - y[r, :]^2), the
//    gradient through a tanh whose output is y; or c[r, :] = tanh(bias + a[r, :k] B), the
//    tanh applied while the vector is in registers (S::tanh, vmath's code). A narrow last
//    partial vector is done several rows per vector (GroupedTail) where S can permute lanes.
//  - outer: acc[i, j] = sum_r a[r, i] x[r, j] for i < p <= kSkinny, with the column sums of a
//    and of x in the same pass (dW and db of a skinny layer). With y, x[r, j] is replaced by
//    x[r, j] (1 - y[r, j]^2) on load: dW and db of a layer followed by a tanh of output y, from
//    the tanh's output gradient, without writing the layer's own output gradient anywhere. A block
//    of columns of every accumulator row stays in registers for a whole chunk of rows.
//  - column_sums: sums[j] = sum_r g[r, j].
// Row sums in float32 accumulate blockwise: each chunk of kChunkRows rows is summed from zero in
// registers and then added into the running total, so the rounding error grows with
// kChunkRows + rows / kChunkRows, not with rows. Every order is fixed by the shapes alone.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernel.hpp"

namespace affine::detail::gemm::impl {

// Calls fn.template operator()<W>() with the run-time count w (1 to N) as a compile-time
// constant, so each skinny kernel is unrolled for it; other counts call nothing (callers never
// pass them).
template <int N, class Fn>
void with_count(int64_t w, Fn&& fn) {
  [&]<int... Ws>(std::integer_sequence<int, Ws...>) {
    (void)((w == Ws + 1 ? (fn.template operator()<Ws + 1>(), true) : false) || ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// The width (1 to 8) of a skinny operand as a compile-time constant: kernel.hpp's k <= 8, p <= 8.
template <class Fn>
void with_width(int64_t w, Fn&& fn) {
  with_count<8>(w, std::forward<Fn>(fn));
}

inline constexpr int64_t kChunkRows = kSkinnyChunkRows;

// ---- product --------------------------------------------------------------------------------

// One block of NV column vectors (the last one nlast <= W lanes wide) over every row: B's block
// and the bias stay in registers, so each output vector costs K FMAs and one store (plus a load
// of y for tanh_grad, of c for accumulate). Per element the operations are the same whatever the
// blocking: bias (or 0), then + a[r, t] b[t, j] for t = 0..K-1 in order, then the mode's step.
template <class S, int K, SkinnyMode M, int NV>
void skinny_product_block(int64_t rows, int64_t nlast, const typename S::T* a, int64_t lda,
                          const typename S::T* b, int64_t ldb, const typename S::T* bias,
                          const typename S::T* y, int64_t ldy, typename S::T* c, int64_t ldc) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const bool last_full = nlast == W;
  auto load = [&](const T* p, int v) {
    return v < NV - 1 || last_full ? S::load(p) : S::loadn(p, nlast);
  };
  V bv[K][NV];
  V bias_v[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    bias_v[v] = bias != nullptr ? load(bias + v * W, v) : S::zero();
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) bv[t][v] = load(b + t * ldb + v * W, v);
  }
  const V one = S::bcast(T(1));
  const V minus_one = S::bcast(T(-1));
  for (int64_t r = 0; r < rows; ++r) {
    V av[K];
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) av[t] = S::bcast(a[r * lda + t]);
    T* cr = c + r * ldc;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      V acc = bias_v[v];
#pragma GCC unroll 8
      for (int t = 0; t < K; ++t) acc = S::fma(av[t], bv[t][v], acc);
      if constexpr (M == SkinnyMode::accumulate) {
        acc = S::add(load(cr + v * W, v), acc);
      } else if constexpr (M == SkinnyMode::tanh_grad) {
        const V yv = load(y + r * ldy + v * W, v);
        acc = S::mul(acc, S::fma(S::mul(minus_one, yv), yv, one));  // (G W) (1 - y^2)
      } else if constexpr (M == SkinnyMode::tanh) {
        acc = S::tanh(acc);
      }
      if (v < NV - 1 || last_full) {
        S::store(cr + v * W, acc);
      } else {
        S::storen(cr + v * W, acc, nlast);
      }
    }
  }
}

template <class S>
concept LanePermute = requires(typename S::V v, typename S::Idx i, const int32_t* p) {
  S::permute(v, S::load_idx(p));
};

// The last `tail` <= W / 2 columns of c = bias + a B (tanh of it for M = tanh), G rows per
// vector: lane i holds row r + i / L, column i % L, for L = tail rounded up to a power of two and
// G = W / L. A row's last partial vector would otherwise cost a whole vector:
//  - tanh: one tanh serves G rows (for 100 columns under AVX-512, 4 lanes of 16 in every row's
//    seventh vector carried a whole vector's tanh);
//  - set, for an output of L contiguous columns (Linear(2, 1)'s dX: 2 columns): the G rows are
//    one contiguous vector, one store instead of G.
// Lane i's a values come from one load of the G rows (so (G - 1) lda + K <= W) by a
// permutation, and each element gets the operations of skinny_product_block in the same order:
// the same bits. Rows left over (fewer than G) go through that block.
template <class S, int K, SkinnyMode M>
struct GroupedTail {
  using T = typename S::T;
  using V = typename S::V;
  using Idx = typename S::Idx;
  static constexpr int W = S::W;

  /// L: lanes per row, the tail rounded up to a power of two.
  static int lanes_for(int64_t tail) {
    return static_cast<int>(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(1, tail))));
  }

  /// Whether the tail of m columns can be grouped, for a and c of leading dimensions lda, ldc.
  static bool applies(int64_t m, int64_t lda, int64_t ldc) {
    const int64_t tail = m % W;
    const int64_t lanes = lanes_for(tail);
    const bool grouped = tail > 0 && 2 * tail <= W && (W / lanes - 1) * lda + K <= W;
    if constexpr (M == SkinnyMode::tanh) return grouped;
    return grouped && m == lanes && ldc == m;  // set: whole rows, contiguous
  }

  /// b and bias point at the tail's first column (b's rows ldb apart; bias may be null).
  GroupedTail(int64_t tail_, const T* b_, int64_t ldb_, const T* bias_, int64_t lda_)
      : tail(tail_),
        b(b_),
        ldb(ldb_),
        bias(bias_),
        lda(lda_),
        L(lanes_for(tail_)),
        G(W / L),
        span((G - 1) * lda + K) {
    T bias_l[W], b_l[K][W];
    int32_t pick[K][W], rot[W];
    for (int i = 0; i < W; ++i) {
      const int col = i % L;
      bias_l[i] = col < tail && bias != nullptr ? bias[col] : T(0);
      for (int t = 0; t < K; ++t) {
        b_l[t][i] = col < tail ? b[t * ldb + col] : T(0);
        pick[t][i] = static_cast<int32_t>((i / L) * lda + t);
      }
    }
    bias_v = S::load(bias_l);
    for (int t = 0; t < K; ++t) {
      b_v[t] = S::load(b_l[t]);
      pick_v[t] = S::load_idx(pick[t]);
    }
    // rot_v[g] brings group g's lanes down to lanes 0..L-1 (for tanh's row-by-row stores).
    for (int g = 0; M == SkinnyMode::tanh && g < G; ++g) {
      for (int i = 0; i < W; ++i) rot[i] = static_cast<int32_t>((i + g * L) % W);
      rot_v[g] = S::load_idx(rot);
    }
  }

  /// The tail columns of `rows` rows: a and c at the rows' first row (c at the tail's column).
  void run(int64_t rows, const T* a, T* c, int64_t ldc) const {
    int64_t r = 0;
    for (; r + G <= rows; r += G) {
      const V rows_v = S::loadn(a + r * lda, span);
      V acc = bias_v;
#pragma GCC unroll 8
      for (int t = 0; t < K; ++t) acc = S::fma(S::permute(rows_v, pick_v[t]), b_v[t], acc);
      if constexpr (M == SkinnyMode::tanh) {
        acc = S::tanh(acc);
        S::storen(c + r * ldc, acc, tail);
        for (int g = 1; g < G; ++g) S::storen(c + (r + g) * ldc, S::permute(acc, rot_v[g]), tail);
      } else {
        S::store(c + r * ldc, acc);  // G rows of L = ldc columns
      }
    }
    if (r < rows) {
      skinny_product_block<S, K, M, 1>(rows - r, tail, a + r * lda, lda, b, ldb, bias, nullptr, 0,
                                       c + r * ldc, ldc);
    }
  }

  int64_t tail;
  const T* b;
  int64_t ldb;
  const T* bias;
  int64_t lda;
  int L, G;
  int64_t span;  // elements of a that one group's load reads
  V bias_v, b_v[K];
  Idx pick_v[K], rot_v[W];
};

// Columns [0, m) of the product (B's rows ldb apart), in blocks of as many vectors as fit.
template <class S, int K, SkinnyMode M>
void skinny_product_columns(int64_t rows, int64_t m, const typename S::T* a, int64_t lda,
                            const typename S::T* b, int64_t ldb, const typename S::T* bias,
                            const typename S::T* y, int64_t ldy, typename S::T* c, int64_t ldc) {
  constexpr int W = S::W;
  // As many column vectors per block as leave room in the register file for B's K rows, the
  // bias, K broadcasts of a and the accumulator.
  constexpr int kFit = (S::RB_REGS - K - 2) / (K + 2);
  constexpr int NB = kFit < 1 ? 1 : (kFit > 8 ? 8 : kFit);
  for (int64_t j = 0; j < m; j += int64_t{NB} * W) {
    const int64_t left = m - j;
    const int64_t nv = left >= int64_t{NB} * W ? NB : (left + W - 1) / W;
    const int64_t nlast = left - (nv - 1) * W < W ? left - (nv - 1) * W : W;
    with_count<NB>(nv, [&]<int NV>() {
      skinny_product_block<S, K, M, NV>(rows, nlast, a, lda, b + j, ldb,
                                        bias != nullptr ? bias + j : nullptr,
                                        y != nullptr ? y + j : nullptr, ldy, c + j, ldc);
    });
  }
}

template <class S, int K, SkinnyMode M>
void skinny_product_k(int64_t rows, int64_t m, const typename S::T* a, int64_t lda,
                      const typename S::T* b, const typename S::T* bias, const typename S::T* y,
                      int64_t ldy, typename S::T* c, int64_t ldc) {
  constexpr int W = S::W;
  const int64_t ldb = m;
  if constexpr ((M == SkinnyMode::tanh || M == SkinnyMode::set) && LanePermute<S>) {
    if (GroupedTail<S, K, M>::applies(m, lda, ldc)) {
      const int64_t full = m - m % W;
      const GroupedTail<S, K, M> tail(m - full, b + full, ldb,
                                      bias != nullptr ? bias + full : nullptr, lda);
      // A few rows at a time (about 8 KiB of c, a quarter of the smallest x86 L1d; whole
      // groups), the full columns then the tail, so each row's cache lines are completed while
      // they are in L1. Done in two passes over all the rows, a line left partly written until
      // the second pass cost a read from memory once c outgrew the caches: 29 -> 34 ns per row
      // at 100,000 rows of 100 columns.
      const int64_t group = tail.G;
      const int64_t row_bytes = m * int64_t{sizeof(typename S::T)};
      const int64_t per = std::max<int64_t>(1, 8192 / (group * row_bytes)) * group;
      for (int64_t r0 = 0; r0 < rows; r0 += per) {
        const int64_t rn = std::min(rows - r0, per);
        skinny_product_columns<S, K, M>(rn, full, a + r0 * lda, lda, b, ldb, bias, y, ldy,
                                        c + r0 * ldc, ldc);
        tail.run(rn, a + r0 * lda, c + r0 * ldc + full, ldc);
      }
      return;
    }
  }
  skinny_product_columns<S, K, M>(rows, m, a, lda, b, ldb, bias, y, ldy, c, ldc);
}

template <class S>
void skinny_product(int64_t rows, int64_t k, int64_t m, const typename S::T* a, int64_t lda,
                    const typename S::T* b, const typename S::T* bias, SkinnyMode mode,
                    const typename S::T* y, int64_t ldy, typename S::T* c, int64_t ldc) {
  with_width(k, [&]<int K>() {
    switch (mode) {
      case SkinnyMode::set:
        skinny_product_k<S, K, SkinnyMode::set>(rows, m, a, lda, b, bias, y, ldy, c, ldc);
        return;
      case SkinnyMode::accumulate:
        skinny_product_k<S, K, SkinnyMode::accumulate>(rows, m, a, lda, b, bias, y, ldy, c, ldc);
        return;
      case SkinnyMode::tanh_grad:
        skinny_product_k<S, K, SkinnyMode::tanh_grad>(rows, m, a, lda, b, bias, y, ldy, c, ldc);
        return;
      case SkinnyMode::tanh:
        if constexpr (requires(typename S::V v) { S::tanh(v); }) {
          skinny_product_k<S, K, SkinnyMode::tanh>(rows, m, a, lda, b, bias, y, ldy, c, ldc);
        } else {  // double: no vector tanh; std::tanh on the rows just written
          skinny_product_k<S, K, SkinnyMode::set>(rows, m, a, lda, b, bias, y, ldy, c, ldc);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < m; ++j) c[r * ldc + j] = std::tanh(c[r * ldc + j]);
          }
        }
        return;
    }
  });
}

// ---- outer ----------------------------------------------------------------------------------

// One chunk of rows (at most kChunkRows) for a block of jn <= NV * W columns: the chunk's
// products and sums start from zero in registers and are then added into acc / x_sums (stored
// when first). Tanh: x is scaled by 1 - y^2 as it is loaded, rounded as vmath's tanh_backward
// (g * (1 - y*y), each product and difference rounded once), so the sums are those of the
// materialised gradient.
template <class S, int P, int NV, bool Tanh>
void skinny_outer_block(int64_t rows, const typename S::T* a, int64_t lda, const typename S::T* x,
                        int64_t ldx, const typename S::T* y, int64_t ldy, int64_t jn,
                        typename S::T* acc, int64_t q, typename S::T* x_sums, bool first) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  V acc_v[P][NV];
  V sum_v[NV];
  [[maybe_unused]] const V one_v = S::bcast(T(1));
  [[maybe_unused]] const V minus_one = S::bcast(T(-1));
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) acc_v[t][v] = S::zero();
    sum_v[v] = S::zero();
  }
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    const T* ar = a + r * lda;
    V xv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const int64_t n = jn - int64_t{v} * W;
      xv[v] = n >= W ? S::load(xr + v * W) : (n > 0 ? S::loadn(xr + v * W, n) : S::zero());
      if constexpr (Tanh) {
        const T* yr = y + r * ldy + v * W;
        const V yv = n >= W ? S::load(yr) : (n > 0 ? S::loadn(yr, n) : S::zero());
        xv[v] = S::mul(xv[v], S::fma(minus_one, S::mul(yv, yv), one_v));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) {
      const V av = S::bcast(ar[t]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc_v[t][v] = S::fma(av, xv[v], acc_v[t][v]);
    }
    if (x_sums != nullptr) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) sum_v[v] = S::add(xv[v], sum_v[v]);
    }
  }
  auto flush = [&](T* dst, V val, int64_t n) {
    if (n <= 0) return;
    if (n >= W) {
      S::store(dst, first ? val : S::add(S::load(dst), val));
    } else {
      S::storen(dst, first ? val : S::add(S::loadn(dst, n), val), n);
    }
  };
  for (int v = 0; v < NV; ++v) {
    const int64_t n = jn - int64_t{v} * W;
    for (int t = 0; t < P; ++t) flush(acc + t * q + v * W, acc_v[t][v], n);
    if (x_sums != nullptr) flush(x_sums + v * W, sum_v[v], n);
  }
}

template <class S, int P, bool Tanh>
void skinny_outer_p(int64_t rows, int64_t q, const typename S::T* a, int64_t lda,
                    const typename S::T* x, int64_t ldx, const typename S::T* y, int64_t ldy,
                    typename S::T* acc, typename S::T* a_sums, typename S::T* x_sums) {
  using T = typename S::T;
  constexpr int W = S::W;
  // Enough independent FMA chains to cover the FMA latency, within the register file: P rows
  // of NV accumulators plus NV vectors of x (and NV sums). As wide as fits: each column block
  // is one more pass over the chunk's rows (for P = 2 under AVX-512, 112 columns in one pass).
  constexpr int kFit = (S::RB_REGS - 1) / (P + 2);
  constexpr int NV = kFit < 1 ? 1 : (kFit > 8 ? 8 : kFit);
  // Rows in chunks whose slice of x stays in L1/L2 while every column block passes over it, so
  // x streams from memory once however many column blocks there are.
  T as[P] = {};
  for (int64_t r0 = 0; r0 < rows || r0 == 0; r0 += kChunkRows) {
    const int64_t rn = rows - r0 < kChunkRows ? rows - r0 : kChunkRows;
    for (int64_t j0 = 0; j0 < q; j0 += NV * W) {
      const int64_t jn = q - j0 < NV * W ? q - j0 : NV * W;
      // A block of one vector or less (a layer with one or a few outputs) takes the one-vector
      // kernel: the wide one would multiply-add NV - 1 vectors of zeros for every row.
      auto block = [&]<int NB>() {
        skinny_outer_block<S, P, NB, Tanh>(rn, a + r0 * lda, lda, x + r0 * ldx + j0, ldx,
                                           Tanh ? y + r0 * ldy + j0 : nullptr, ldy, jn, acc + j0, q,
                                           x_sums != nullptr ? x_sums + j0 : nullptr, r0 == 0);
      };
      if (jn <= W) {
        block.template operator()<1>();
      } else {
        block.template operator()<NV>();
      }
    }
    if (a_sums != nullptr) {
      T part[P] = {};
      for (int64_t r = r0; r < r0 + rn; ++r) {
        for (int t = 0; t < P; ++t) part[t] += a[r * lda + t];
      }
      for (int t = 0; t < P; ++t) as[t] += part[t];
    }
  }
  if (a_sums != nullptr) {
    for (int t = 0; t < P; ++t) a_sums[t] = as[t];
  }
}

template <class S>
void skinny_outer(int64_t rows, int64_t p, int64_t q, const typename S::T* a, int64_t lda,
                  const typename S::T* x, int64_t ldx, const typename S::T* y, int64_t ldy,
                  typename S::T* acc, typename S::T* a_sums, typename S::T* x_sums) {
  with_width(p, [&]<int P>() {
    if (y != nullptr) {
      skinny_outer_p<S, P, true>(rows, q, a, lda, x, ldx, y, ldy, acc, a_sums, x_sums);
    } else {
      skinny_outer_p<S, P, false>(rows, q, a, lda, x, ldx, y, ldy, acc, a_sums, x_sums);
    }
  });
}

// ---- two layers with a tanh between: one chunk of the backward --------------------------------

// Columns [0, jn) (NV vectors, jn > (NV - 1) W) of one chunk: per row, dz = (g W2)(1 - h^2) in
// registers (the operations of skinny_product's tanh_grad), then the sums of g (x) h, x (x) dz
// and dz (those of skinny_outer_block), each from zero over the chunk, stored (overwritten).
template <class S, int O, int P, int NV>
void tanh_layers_block(int64_t rows, int64_t q, int64_t jn, const typename S::T* g, int64_t ldg,
                       const typename S::T* w2, const typename S::T* h, const typename S::T* x,
                       int64_t ldx, typename S::T* dz_out, typename S::T* acc2, typename S::T* acc1,
                       typename S::T* dz_sums) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t nlast = jn - int64_t{NV - 1} * W;
  const bool last_full = nlast == W;
  auto load = [&](const T* p, int v) {
    return v < NV - 1 || last_full ? S::load(p) : S::loadn(p, nlast);
  };
  const V one = S::bcast(T(1));
  const V minus_one = S::bcast(T(-1));
  V a2[O][NV];
  V a1[P][NV];
  V s1[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
#pragma GCC unroll 8
    for (int t = 0; t < O; ++t) a2[t][v] = S::zero();
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) a1[t][v] = S::zero();
    s1[v] = S::zero();
  }
  // h is the one operand streamed from memory when the batch outgrows the caches (at 100,000
  // rows of 100 it is 40 MB): its rows are requested about 4 KiB ahead, enough to cover the
  // latency of memory at a core's bandwidth (one core read it at ~15 GB/s without, and the
  // backward ran 8-18% faster at that size with; no change at 1,000 rows, where h is in L2).
  const int64_t ahead = std::max<int64_t>(1, 4096 / (q * int64_t{sizeof(T)}));
  for (int64_t r = 0; r < rows; ++r) {
    V gb[O];
    V xb[P];
#pragma GCC unroll 8
    for (int t = 0; t < O; ++t) gb[t] = S::bcast(g[r * ldg + t]);
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) xb[t] = S::bcast(x[r * ldx + t]);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if (r + ahead < rows) __builtin_prefetch(h + (r + ahead) * q + v * W, 0, 3);
      const V hv = load(h + r * q + v * W, v);
      V dz = S::zero();
#pragma GCC unroll 8
      for (int t = 0; t < O; ++t) dz = S::fma(gb[t], load(w2 + t * q + v * W, v), dz);
      dz = S::mul(dz, S::fma(S::mul(minus_one, hv), hv, one));
      if (dz_out != nullptr) {
        if (v < NV - 1 || last_full) {
          S::store(dz_out + r * q + v * W, dz);
        } else {
          S::storen(dz_out + r * q + v * W, dz, nlast);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < O; ++t) a2[t][v] = S::fma(gb[t], hv, a2[t][v]);
#pragma GCC unroll 8
      for (int t = 0; t < P; ++t) a1[t][v] = S::fma(xb[t], dz, a1[t][v]);
      s1[v] = S::add(dz, s1[v]);
    }
  }
  auto put = [&](T* dst, V val, int v) {
    if (v < NV - 1 || last_full) {
      S::store(dst, val);
    } else {
      S::storen(dst, val, nlast);
    }
  };
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    for (int t = 0; t < O; ++t) put(acc2 + t * q + v * W, a2[t][v], v);
    for (int t = 0; t < P; ++t) put(acc1 + t * q + v * W, a1[t][v], v);
    put(dz_sums + v * W, s1[v], v);
  }
}

template <class S, int O, int P>
void tanh_layers_op(int64_t rows, int64_t q, const typename S::T* g, int64_t ldg,
                    const typename S::T* w2, const typename S::T* h, const typename S::T* x,
                    int64_t ldx, typename S::T* dz_out, typename S::T* acc2, typename S::T* g_sums,
                    typename S::T* acc1, typename S::T* dz_sums) {
  using T = typename S::T;
  constexpr int W = S::W;
  // Accumulators O + P + 1 per column vector, plus the broadcasts and two constants.
  constexpr int kFit = (S::RB_REGS - O - P - 3) / (O + P + 1);
  constexpr int NB = kFit < 1 ? 1 : (kFit > 8 ? 8 : kFit);
  for (int64_t j = 0; j < q; j += int64_t{NB} * W) {
    const int64_t jn = q - j < int64_t{NB} * W ? q - j : int64_t{NB} * W;
    with_count<NB>((jn + W - 1) / W, [&]<int NV>() {
      tanh_layers_block<S, O, P, NV>(rows, q, jn, g, ldg, w2 + j, h + j, x, ldx,
                                     dz_out != nullptr ? dz_out + j : nullptr, acc2 + j, acc1 + j,
                                     dz_sums + j);
    });
  }
  T part[O] = {};  // g's column sums, in skinny_outer's order
  for (int64_t r = 0; r < rows; ++r) {
    for (int t = 0; t < O; ++t) part[t] += g[r * ldg + t];
  }
  for (int t = 0; t < O; ++t) g_sums[t] = T(0) + part[t];
}

template <class S>
bool skinny_tanh_layers(int64_t rows, int64_t o, int64_t p, int64_t q, const typename S::T* g,
                        int64_t ldg, const typename S::T* w2, const typename S::T* h,
                        const typename S::T* x, int64_t ldx, typename S::T* dz_out,
                        typename S::T* acc2, typename S::T* g_sums, typename S::T* acc1,
                        typename S::T* dz_sums) {
  if (o < 1 || o > kTanhLayersMax || p < 1 || p > kTanhLayersMax || q < 1) return false;
  with_count<kTanhLayersMax>(o, [&]<int O>() {
    with_count<kTanhLayersMax>(p, [&]<int P>() {
      tanh_layers_op<S, O, P>(rows, q, g, ldg, w2, h, x, ldx, dz_out, acc2, g_sums, acc1, dz_sums);
    });
  });
  return true;
}

// ---- column sums ----------------------------------------------------------------------------

template <class S>
void column_sums(int64_t rows, int64_t m, const typename S::T* g, int64_t ldg,
                 typename S::T* sums) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  if (m == 1) {
    // One column: eight independent partial sums per chunk (not one long dependency chain).
    T total = T(0);
    for (int64_t r0 = 0; r0 < rows; r0 += kChunkRows) {
      const int64_t r1 = rows - r0 < kChunkRows ? rows : r0 + kChunkRows;
      T part[8] = {};
      int64_t r = r0;
      for (; r + 8 <= r1; r += 8) {
        for (int t = 0; t < 8; ++t) part[t] += g[(r + t) * ldg];
      }
      for (; r < r1; ++r) part[0] += g[r * ldg];
      T s = T(0);
      for (int t = 0; t < 8; ++t) s += part[t];
      total += s;
    }
    sums[0] = total;
    return;
  }
  // Chunk by chunk of rows (each chunk's rows stay in cache while every column block passes).
  for (int64_t r0 = 0; r0 < rows || r0 == 0; r0 += kChunkRows) {
    const int64_t r1 = rows - r0 < kChunkRows ? rows : r0 + kChunkRows;
    for (int64_t j = 0; j < m; j += W) {
      const int64_t n = m - j < W ? m - j : W;
      V part = S::zero();
      for (int64_t r = r0; r < r1; ++r) {
        part = S::add(n == W ? S::load(g + r * ldg + j) : S::loadn(g + r * ldg + j, n), part);
      }
      if (r0 != 0) part = S::add(n == W ? S::load(sums + j) : S::loadn(sums + j, n), part);
      if (n == W) {
        S::store(sums + j, part);
      } else {
        S::storen(sums + j, part, n);
      }
    }
  }
}

}  // namespace affine::detail::gemm::impl
