// Internal: the GEMM kernels written once, as templates over a SIMD traits type S, and
// instantiated by each ISA translation unit (kernel_generic.cpp, kernel_avx2.cpp,
// kernel_avx512.cpp) with its own traits and compiler flags.
//
// S provides: T (element), V (vector), W (elements per V), zero(), load(p), loadn(p, n) (first
// n < W lanes, rest zero), store(p, v), storen(p, v, n), bcast(x), fma(a, b, c) = a * b + c,
// mul(a, b), add(a, b), hsum(v), fma1(a, b, c) (scalar, rounding like fma), plus tile shapes:
// MR, NV (micro-kernel MR x NV*W), RB_R, RB_NV, RB_NV_DEEP, RB_REGS (rowbcast tile: at most RB_R
// rows and RB_NV vectors, RB_NV_DEEP for deep products, RB_REGS registers for accumulators plus B),
// DOT_R, DOT_C (dot tile: DOT_R x DOT_C accumulators, at most DOT_C columns), PREFETCH (k steps,
// 0 = none). Optional, used when present: tanh(v) (vmath's, in registers); Idx, load_idx(p) and
// permute(v, idx) (lane i of the result is lane idx[i] of v).
//
// ODR note: every traits type is declared in an anonymous namespace of its ISA file, so each
// instantiation below has internal linkage and an AVX-512 copy can never be linked into a
// generic caller. For the same reason this header defines no non-template functions.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernel.hpp"
#include "skinny_impl.hpp"

namespace affine::detail::gemm::impl {

// ---- packed path ---------------------------------------------------------------------------

// alpha * acc, rounded once. With beta == 0 it is alpha * acc + 0 (an fma with +0: the same
// rounding, but an exact -0 becomes +0), because reference BLAS starts C at +0 and adds the
// products to it, so it never writes -0 when beta == 0 (alpha < 0 times an exact-zero dot).
template <class S>
inline typename S::V scale_acc(typename S::V va, typename S::V acc, bool beta_zero) {
  return beta_zero ? S::fma(va, acc, S::zero()) : S::mul(va, acc);
}

// The writeback shared by every tile: r = alpha * acc (+ beta * c), through a row of C.
// Full vectors and trimmed ones use the same vector arithmetic so they round identically.
template <class S>
inline void store_row(typename S::V acc, typename S::V va, typename S::T beta, typename S::V vb,
                      typename S::T* c, int64_t cs_c, int64_t n) {
  using T = typename S::T;
  typename S::V r = scale_acc<S>(va, acc, beta == T(0));
  if (cs_c == 1) {
    if (n >= S::W) {
      if (beta != T(0)) r = S::fma(vb, S::load(c), r);
      S::store(c, r);
    } else {
      if (beta != T(0)) r = S::fma(vb, S::loadn(c, n), r);
      S::storen(c, r, n);
    }
    return;
  }
  // Strided C (a transposed output view): go through a small buffer.
  alignas(64) T buf[S::W] = {};
  const int64_t nn = n < S::W ? n : S::W;
  if (beta != T(0)) {
    for (int64_t j = 0; j < nn; ++j) buf[j] = c[j * cs_c];
    r = S::fma(vb, S::load(buf), r);
  }
  S::store(buf, r);
  for (int64_t j = 0; j < nn; ++j) c[j * cs_c] = buf[j];
}

// C[m x n] := alpha * A_panel * B_panel + beta * C with an MR x (NV*W) register tile; see the
// contract in kernel.hpp. kc may be 0 (then C := beta * C, by the same rule).
template <class S, int MR, int NV>
void micro_kernel(int64_t kc, typename S::T alpha, const typename S::T* a, const typename S::T* b,
                  typename S::T beta, typename S::T* c, int64_t rs_c, int64_t cs_c, int64_t m,
                  int64_t n) {
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = NV * W;
  V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  }
  // Start pulling the C tile in now so its (often 4 KiB-strided, set-conflicting) rows arrive
  // while the k loop runs instead of stalling the writeback. A prefetch is only a hint: it
  // never faults and never makes a value of C visible, so the beta == 0 rule holds.
  for (int64_t i = 0; i < m; ++i) {
    __builtin_prefetch(c + i * rs_c, 1, 3);
    __builtin_prefetch(c + i * rs_c + (n - 1) * cs_c, 1, 3);
  }
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    if constexpr (S::PREFETCH > 0) {
      // The panels stream from L2 (kc is sized for L2, see blocking_for): ask for them early.
      constexpr int line = 64 / sizeof(typename S::T);
      __builtin_prefetch(b + S::PREFETCH * NR, 0, 3);
      if constexpr (NR > line) __builtin_prefetch(b + S::PREFETCH * NR + line, 0, 3);
      __builtin_prefetch(a + S::PREFETCH * MR, 0, 3);
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const V ai = S::bcast(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  const V va = S::bcast(alpha);
  const V vb = S::bcast(beta);
  if (m == MR && n == NR && cs_c == 1) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V r = scale_acc<S>(va, acc[i][v], beta == typename S::T(0));
        if (beta != typename S::T(0)) r = S::fma(vb, S::load(c + i * rs_c + v * W), r);
        S::store(c + i * rs_c + v * W, r);
      }
    }
    return;
  }
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    for (int v = 0; v < NV; ++v) {
      const int64_t left = n - int64_t{v} * W;
      if (left <= 0) break;
      store_row<S>(acc[i][v], va, beta, vb, c + i * rs_c + int64_t{v} * W * cs_c, cs_c, left);
    }
  }
}

// ---- packing ---------------------------------------------------------------------------------

// dst[c * ldd + r] = src[r * lds + c] for r, c < N: an N x N transpose in registers, as the
// compiler does not find one in a scalar loop (it moves one element at a time). log2(N) stages,
// each swapping one bit of the row index with the same bit of the column index through
// two-operand shuffles (__builtin_shufflevector: GCC 12+ and clang), so every ISA file compiles
// it with its own instructions. Templated on the ISA's traits S, not on T alone, so each ISA's
// copy has internal linkage (see the ODR note above).
template <class S, int N, class T = typename S::T>
struct BlockTranspose {
  typedef T VX __attribute__((vector_size(N * sizeof(T))));  // (GCC takes the attribute only here)

  // Rows x and y = x's row with bit B set: element c of the new x takes y's c ^ B when c has
  // bit B, and of the new y x's c ^ B when it has not.
  template <int B, std::size_t... C>
  static void swap_bit(VX& x, VX& y, std::index_sequence<C...>) {
    const VX lo = __builtin_shufflevector(x, y, ((C & B) ? N + (C ^ B) : C)...);
    const VX hi = __builtin_shufflevector(x, y, ((C & B) ? N + C : (C ^ B))...);
    x = lo;
    y = hi;
  }

  template <int B>
  static void stage(VX (&r)[N]) {
    if constexpr (B < N) {
#pragma GCC unroll 16
      for (int i = 0; i < N; ++i)
        if ((i & B) == 0) swap_bit<B>(r[i], r[i | B], std::make_index_sequence<N>{});
      stage<B * 2>(r);
    }
  }

  static void block(const T* src, int64_t lds, T* dst, int64_t ldd) {
    VX r[N];
#pragma GCC unroll 16
    for (int i = 0; i < N; ++i) __builtin_memcpy(&r[i], src + i * lds, sizeof(VX));
    stage<1>(r);
#pragma GCC unroll 16
    for (int i = 0; i < N; ++i) __builtin_memcpy(dst + i * ldd, &r[i], sizeof(VX));
  }
};

// One micro-panel of width R (R = MR for A, NR for B): dst[p * R + r] = src[r * rs_r + p * rs_p]
// for r < rows, zero for rows <= r < R, p < kc (the formats of kernel.hpp). Compiled per ISA with
// R fixed, the copying case (rs_r == 1) becomes full-width vector moves and the transposing case
// (rs_p == 1) 8 x 8 blocks transposed in registers, instead of a scalar loop.
template <class S, int R>
void pack_panel(int64_t kc, int64_t rows, const typename S::T* src, int64_t rs_r, int64_t rs_p,
                typename S::T* dst) {
  using T = typename S::T;
  if (rows == R && rs_r == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* s = src + p * rs_p;
#pragma GCC unroll 32
      for (int r = 0; r < R; ++r) dst[p * R + r] = s[r];
    }
  } else if (rows == R && rs_p == 1) {
    // A transpose: 8 x R blocks, so each source row is read a cache line at a time while
    // the R destination values of a p are written together.
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      int r = 0;
      for (; r + 8 <= R; r += 8)
        BlockTranspose<S, 8>::block(src + r * rs_r + p, rs_r, dst + p * R + r, R);
      for (; r < R; ++r) {  // R = 12 (an A panel): the last 4 rows
        const T* s = src + r * rs_r + p;
#pragma GCC unroll 8
        for (int q = 0; q < 8; ++q) dst[(p + q) * R + r] = s[q];
      }
    }
    for (; p < kc; ++p) {
#pragma GCC unroll 32
      for (int r = 0; r < R; ++r) dst[p * R + r] = src[r * rs_r + p];
    }
  } else if (rows == R) {
    for (int64_t p = 0; p < kc; ++p) {
#pragma GCC unroll 32
      for (int r = 0; r < R; ++r) dst[p * R + r] = src[r * rs_r + p * rs_p];
    }
  } else {
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < rows; ++r) dst[p * R + r] = src[r * rs_r + p * rs_p];
      for (int64_t r = rows; r < R; ++r) dst[p * R + r] = T(0);
    }
  }
}

// ---- kernel tables ---------------------------------------------------------------------------

// f[a-1][b-1] = Family::kernel<a, b>() for 1 <= a <= NA, 1 <= b <= NB where Family::fits<a, b>,
// null elsewhere (those are never instantiated): the run-time shape picks a compiled tile.
template <class Family, int NA, int NB>
struct KernelTable {
  using Fn = typename Family::Fn;
  Fn f[NA][NB];

  template <int A, int B>
  static constexpr Fn entry() {
    if constexpr (Family::template fits<A, B>) {
      return Family::template kernel<A, B>();
    } else {
      return nullptr;
    }
  }

  template <std::size_t... I>
  static constexpr KernelTable make(std::index_sequence<I...>) {
    KernelTable t{};
    ((t.f[I / NB][I % NB] = entry<static_cast<int>(I / NB) + 1, static_cast<int>(I % NB) + 1>()),
     ...);
    return t;
  }
  static constexpr KernelTable make() { return make(std::make_index_sequence<NA * NB>{}); }
};

// Makes the compiler hold v in a register. GCC folds a load into every FMA that uses it (a
// memory operand each): a dot tile then loads each vector of A once per column (an 8 x 2 tile
// issues 18 loads for 16 FMAs, more than the two vector loads a cycle an x86 core does), a
// rowbcast tile each vector of B once per row. No code is emitted. (The portable ISA's vectors are
// structs, left to the compiler.)
template <class V>
inline void in_register([[maybe_unused]] V& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(_M_X64))
  if constexpr (!std::is_class_v<V>) asm("" : "+v"(v));
#endif
}

// m rows shared evenly by the fewest tiles of at most `rows` rows: heights differ by at most one,
// the taller tiles last. Two divisions per column chunk; the split as m * t / tiles took two
// 64-bit divisions per tile, 5% of a 32^3 product. (On S for internal linkage.)
template <class S>
struct RowSplit {
  int64_t tiles, base, taller_from;
  RowSplit(int64_t m, int64_t rows)
      : tiles((m + rows - 1) / rows), base(m / tiles), taller_from(tiles - m % tiles) {}
  int64_t height(int64_t t) const { return t < taller_from ? base : base + 1; }
};

// f(x) for x = 1..N as a table, so that a run-time x costs a load, not a division.
template <int N, class F>
constexpr std::array<int, N> tabulate(F f) {
  std::array<int, N> t{};
  for (int x = 1; x <= N; ++x) t[x - 1] = f(x);
  return t;
}

// ---- small path: rowbcast (vectorised along j) ----------------------------------------------

// acc[R][NV] += A[R x k] B[k x NV vectors], `last` = lanes used in B's last vector. kUnitRows
// (rs_a == 1, the A^T of a tn product) gives the broadcasts constant offsets; a run-time row
// stride costs an index register per row, which for tall tiles spill.
template <class S, int R, int NV, bool kUnitRows>
inline void rowbcast_steps(typename S::V (&acc)[R][NV], int64_t k, const typename S::T* a,
                           int64_t rs_a, int64_t cs_a, const typename S::T* b, int64_t rs_b,
                           int64_t last) {
  using V = typename S::V;
  constexpr int W = S::W;
  const bool partial = last < W;
  for (int64_t p = 0; p < k; ++p) {
    const typename S::T* bp = b + p * rs_b;
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = S::load(bp + v * W);
    bv[NV - 1] = partial ? S::loadn(bp + (NV - 1) * W, last) : S::load(bp + (NV - 1) * W);
    if constexpr (R > 1) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) in_register(bv[v]);  // loaded once, not once per row
    }
    const typename S::T* ap = a + p * cs_a;
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const V ai = S::bcast(ap[kUnitRows ? i : i * rs_a]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
    }
  }
}

// Two vectors' lanes interleaved: lo = x0 y0 x1 y1 ... (the first halves), hi = the second
// halves. Two-operand shuffles, as TreeSum; on S for internal linkage.
template <class S, int W = S::W, class T = typename S::T>
struct Zip {
  typedef T VX __attribute__((vector_size(W * sizeof(T))));  // (GCC takes the attribute only here)
  using V = typename S::V;
  static_assert(sizeof(VX) == sizeof(V));

  template <std::size_t... L>
  static void zip(const VX& x, const VX& y, VX& lo, VX& hi, std::index_sequence<L...>) {
    lo = __builtin_shufflevector(x, y, ((L % 2) ? W + L / 2 : L / 2)...);
    hi = __builtin_shufflevector(x, y, ((L % 2) ? W + W / 2 + L / 2 : W / 2 + L / 2)...);
  }

  // The inverse, from memory: even[l] = src[2 l], odd[l] = src[2 l + 1] for l < W.
  template <std::size_t... L>
  static void unzip(const T* src, T* even, T* odd, std::index_sequence<L...>) {
    VX x, y;
    __builtin_memcpy(&x, src, sizeof(VX));
    __builtin_memcpy(&y, src + W, sizeof(VX));
    const VX e = __builtin_shufflevector(x, y, (2 * L)...);
    const VX o = __builtin_shufflevector(x, y, (2 * L + 1)...);
    __builtin_memcpy(even, &e, sizeof(VX));
    __builtin_memcpy(odd, &o, sizeof(VX));
  }

  static void zip(const V& x, const V& y, V& lo, V& hi) {
    VX vx, vy, vlo, vhi;
    __builtin_memcpy(&vx, &x, sizeof(V));
    __builtin_memcpy(&vy, &y, sizeof(V));
    zip(vx, vy, vlo, vhi, std::make_index_sequence<W>{});
    __builtin_memcpy(&lo, &vlo, sizeof(V));
    __builtin_memcpy(&hi, &vhi, sizeof(V));
  }
};

// One R x nv-vector tile of C; `last` = lanes used in the last vector (1..W).
template <class S, int R, int NV>
void rowbcast_tile(int64_t k, typename S::T alpha, const typename S::T* a, int64_t rs_a,
                   int64_t cs_a, const typename S::T* b, int64_t rs_b, typename S::T beta,
                   typename S::T* c, int64_t rs_c, int64_t cs_c, int64_t last) {
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  }
  const bool partial = last < W;
  if (rs_a == 1) {
    rowbcast_steps<S, R, NV, true>(acc, k, a, 1, cs_a, b, rs_b, last);
  } else {
    rowbcast_steps<S, R, NV, false>(acc, k, a, rs_a, cs_a, b, rs_b, last);
  }
  const V va = S::bcast(alpha);
  if (cs_c == 1 && beta == typename S::T(0)) {
    // The common case (C written, not updated, rows contiguous) without store_row's per-vector
    // branches: a tiny-k product is bound by these stores. Same arithmetic as store_row, except
    // that alpha == 1 skips the scaling (R x NV FMAs, 3% of a 32^3 product), as rowbcast_tinyk
    // does: 1 * acc + 0 is acc unless acc is -0, which a chain from +0 reaches only when every
    // product underflows to -0 (then C keeps that -0 where reference BLAS writes +0).
    if (alpha != typename S::T(1)) {
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[i][v] = scale_acc<S>(va, acc[i][v], true);
      }
    }
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      typename S::T* ci = c + i * rs_c;
#pragma GCC unroll 8
      for (int v = 0; v < NV - 1; ++v) S::store(ci + v * W, acc[i][v]);
      if (partial) {
        S::storen(ci + (NV - 1) * W, acc[i][NV - 1], last);
      } else {
        S::store(ci + (NV - 1) * W, acc[i][NV - 1]);
      }
    }
    return;
  }
  if constexpr (R == 2) {
    if (rs_c == 1 && cs_c == 2) {
      // C^T of a product with n = 2 and ldc = 2 (the transposed plan): the tile is one run of
      // memory holding the two rows' lanes alternately, so the rows are interleaved in
      // registers and stored as whole vectors, not 2 x nj scalars. The scaling is per lane,
      // so scaling after the interleave rounds every element as the path below does.
      const V vb = S::bcast(beta);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        V lo, hi;
        Zip<S>::zip(acc[0][v], acc[1][v], lo, hi);
        typename S::T* cv = c + int64_t{2} * v * W;
        if (v < NV - 1 || last == W) {
          store_row<S>(lo, va, beta, vb, cv, 1, W);
          store_row<S>(hi, va, beta, vb, cv + W, 1, W);
        } else if (2 * last <= W) {
          store_row<S>(lo, va, beta, vb, cv, 1, 2 * last);
        } else {
          store_row<S>(lo, va, beta, vb, cv, 1, W);
          store_row<S>(hi, va, beta, vb, cv + W, 1, 2 * last - W);
        }
      }
      return;
    }
  }
  if (cs_c != 1) {
    // Strided C (a transposed output view, the transposed plans): scale the whole tile into a
    // buffer, then write C a column at a time so its contiguous direction (rs_c, usually 1) is
    // innermost. Same arithmetic as store_row: fma1 rounds as the vector fma does.
    using T = typename S::T;
    alignas(64) T buf[R][NV * W];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        S::store(&buf[i][v * W], scale_acc<S>(va, acc[i][v], beta == T(0)));
    }
    const int64_t nj = int64_t{NV - 1} * W + last;
    for (int64_t j = 0; j < nj; ++j) {
      T* cj = c + j * cs_c;
      if (beta == T(0)) {
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) cj[i * rs_c] = buf[i][j];
      } else {
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) cj[i * rs_c] = S::fma1(beta, cj[i * rs_c], buf[i][j]);
      }
    }
    return;
  }
  const V vb = S::bcast(beta);
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const int64_t n = v == NV - 1 ? last : W;
      store_row<S>(acc[i][v], va, beta, vb, c + i * rs_c + int64_t{v} * W, 1, n);
    }
  }
}

template <class S>
using RowBcastTile = void (*)(int64_t, typename S::T, const typename S::T*, int64_t, int64_t,
                              const typename S::T*, int64_t, typename S::T, typename S::T*, int64_t,
                              int64_t, int64_t);

// Rows of a tile nv vectors wide: as many accumulator rows as fit beside nv vectors of B in
// RB_REGS registers, at most RB_R.
template <class S>
constexpr int rowbcast_fit(int nv) {
  const int fit = (S::RB_REGS - nv) / nv;
  return fit < S::RB_R ? (fit < 1 ? 1 : fit) : S::RB_R;
}

// rowbcast_tile<S, R, NV> for the R rows that fit beside NV vectors.
template <class S>
struct RowBcastTiles {
  using Fn = RowBcastTile<S>;
  template <int R, int NV>
  static constexpr bool fits = R <= rowbcast_fit<S>(NV);
  template <int R, int NV>
  static constexpr Fn kernel() {
    return &rowbcast_tile<S, R, NV>;
  }
};

// ---- small path: rowbcast for tiny k -------------------------------------------------------

// Up to this k, rowbcast keeps all k rows of a B chunk in registers and streams A's rows past
// them, one store per vector of C: such a product is bound by those stores, and the tiles above
// would reload B and pay a call per few rows.
constexpr int64_t kTinyK = 4;

// Vectors per chunk for a tiny k: K rows of B plus one row of accumulators and a broadcast fit
// the RB_REGS registers.
template <class S>
constexpr int tinyk_nv(int k) {
  const int fit = (S::RB_REGS - 1) / (k + 1);
  return fit < S::RB_NV ? (fit < 1 ? 1 : fit) : S::RB_NV;
}

// C[m x nv vectors] for k == K, `last` = lanes used in the last vector (1..W). The per-element
// arithmetic is rowbcast_tile's (fma chain from +0, then store_row's scaling), so a product gives
// the same bits through either; alpha == 1 skips the scaling, which is then exact (the chain
// starting at +0 never yields -0, the one value alpha * acc + 0 would change).
template <class S, int K, int NV>
void rowbcast_tinyk(int64_t m, typename S::T alpha, const typename S::T* a, int64_t rs_a,
                    int64_t cs_a, const typename S::T* b, int64_t rs_b, typename S::T beta,
                    typename S::T* c, int64_t rs_c, int64_t cs_c, int64_t last) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const bool partial = last < W;
  V bv[K][NV];
#pragma GCC unroll 4
  for (int q = 0; q < K; ++q) {
    const T* bq = b + q * rs_b;
#pragma GCC unroll 16
    for (int v = 0; v < NV - 1; ++v) bv[q][v] = S::load(bq + v * W);
    bv[q][NV - 1] = partial ? S::loadn(bq + (NV - 1) * W, last) : S::load(bq + (NV - 1) * W);
  }
  const V va = S::bcast(alpha);
  const V vb = S::bcast(beta);
  const bool plain = cs_c == 1 && beta == T(0);
  const bool unit = alpha == T(1);
  for (int64_t i = 0; i < m; ++i) {
    const T* ai = a + i * rs_a;
    V acc[NV];
    const V a0 = S::bcast(ai[0]);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[v] = S::fma(a0, bv[0][v], S::zero());
#pragma GCC unroll 4
    for (int q = 1; q < K; ++q) {
      const V aq = S::bcast(ai[q * cs_a]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[v] = S::fma(aq, bv[q][v], acc[v]);
    }
    T* ci = c + i * rs_c;
    if (plain) {
      if (!unit) {
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[v] = scale_acc<S>(va, acc[v], true);
      }
#pragma GCC unroll 16
      for (int v = 0; v < NV - 1; ++v) S::store(ci + v * W, acc[v]);
      if (partial) {
        S::storen(ci + (NV - 1) * W, acc[NV - 1], last);
      } else {
        S::store(ci + (NV - 1) * W, acc[NV - 1]);
      }
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        store_row<S>(acc[v], va, beta, vb, ci + int64_t{v} * W * cs_c, cs_c,
                     v == NV - 1 ? last : W);
    }
  }
}

template <class S>
using RowBcastTinyK = void (*)(int64_t, typename S::T, const typename S::T*, int64_t, int64_t,
                               const typename S::T*, int64_t, typename S::T, typename S::T*,
                               int64_t, int64_t, int64_t);

// rowbcast_tinyk<S, K, NV> for the chunks of up to tinyk_nv(K) vectors.
template <class S>
struct RowBcastTinyKs {
  using Fn = RowBcastTinyK<S>;
  template <int K, int NV>
  static constexpr bool fits = NV <= tinyk_nv<S>(K);
  template <int K, int NV>
  static constexpr Fn kernel() {
    return &rowbcast_tinyk<S, K, NV>;
  }
};

// C[m x n] := alpha * A * B + beta * C with B rows contiguous (cs_b == 1); see kernel.hpp.
template <class S>
void rowbcast(int64_t m, int64_t n, int64_t k, typename S::T alpha, const typename S::T* a,
              int64_t rs_a, int64_t cs_a, const typename S::T* b, int64_t rs_b, typename S::T beta,
              typename S::T* c, int64_t rs_c, int64_t cs_c) {
  constexpr int W = S::W;
  if (k <= kTinyK) {
    static constexpr auto tiny = KernelTable<RowBcastTinyKs<S>, kTinyK, S::RB_NV>::make();
    // (A table, not tinyk_nv(k): that is a division, and the tiniest calls take ~20 ns.)
    static constexpr auto chunk_nv = tabulate<kTinyK>([](int q) { return tinyk_nv<S>(q); });
    const int64_t chunk = int64_t{chunk_nv[k - 1]} * W;
    for (int64_t j0 = 0; j0 < n; j0 += chunk) {
      const int64_t nj = n - j0 < chunk ? n - j0 : chunk;
      const int64_t nv = (nj + W - 1) / W;
      tiny.f[k - 1][nv - 1](m, alpha, a, rs_a, cs_a, b + j0, rs_b, beta, c + j0 * cs_c, rs_c, cs_c,
                            nj - (nv - 1) * W);
    }
    return;
  }
  // Deep products (k large, many rows) want the squarest tile, RB_NV_DEEP vectors wide, for
  // the fewest loads per FMA. Shallow ones (k tiny) are bound by the stores of C and want each
  // row of C written in one pass; short ones (m below a tile) want B streamed once: both take
  // the widest tile.
  const int64_t chunk =
      int64_t{k <= 8 || m < rowbcast_fit<S>(S::RB_NV_DEEP) ? S::RB_NV : S::RB_NV_DEEP} * W;
  static constexpr auto table = KernelTable<RowBcastTiles<S>, S::RB_R, S::RB_NV>::make();
  // Column chunks outside, row tiles inside: the B chunk (k x chunk) stays in L1/L2 while every
  // row of A passes over it. Narrow chunks get taller tiles so the register file (RB_REGS
  // vectors for accumulators and B) is used either way; a wide chunk lets a tiny-k product write
  // each row of C in one pass. The rows are shared evenly between the fewest tiles that fit, so
  // no short tile is left with too few accumulators to cover the FMA latency (each element's
  // arithmetic is the same in any tile).
  for (int64_t j0 = 0; j0 < n; j0 += chunk) {
    const int64_t nj = n - j0 < chunk ? n - j0 : chunk;
    const int64_t nv = (nj + W - 1) / W;
    const int64_t last = nj - (nv - 1) * W;
    static constexpr auto fit = tabulate<S::RB_NV>([](int v) { return rowbcast_fit<S>(v); });
    const RowSplit<S> split(m, fit[nv - 1]);
    for (int64_t t = 0, i0 = 0; t < split.tiles; ++t) {
      const int64_t r = split.height(t);
      table.f[r - 1][nv - 1](k, alpha, a + i0 * rs_a, rs_a, cs_a, b + j0, rs_b, beta,
                             c + i0 * rs_c + j0 * cs_c, rs_c, cs_c, last);
      i0 += r;
    }
  }
}

// ---- small path: dot (vectorised along k) ---------------------------------------------------

// The horizontal sums of a tile's accumulators together: v[0..count) become ceil(count / W)
// vectors whose lane i holds the sum of the lanes of accumulator i. Each stage halves the lanes
// left per accumulator, adding lane o to lane o + h as S::hsum does on x86 (halves, then
// quarters, ...), so every element gets the same bits as through hsum, in any tile; but a stage
// serves two accumulators per pair of shuffles instead of one. (On S for internal linkage.)
template <class S, int W = S::W, class T = typename S::T>
struct TreeSum {
  typedef T VX __attribute__((vector_size(W * sizeof(T))));  // (GCC takes the attribute only here)

  // Lane l of a stage's result (blocks of h lanes, the first operand's blocks first) comes from
  // lane src(l) of the concatenated operands (blocks of 2h lanes) plus lane src(l) + h.
  template <int H>
  static constexpr int src(int l) {
    constexpr int blocks = W / (2 * H);  // per operand
    const int b = l / H, o = l % H;
    return b < blocks ? b * 2 * H + o : W + (b - blocks) * 2 * H + o;
  }

  // (Operands by reference: a vector wider than the baseline ISA must not cross a call by value.)
  template <int H, std::size_t... L>
  static void combine(const VX& x, const VX& y, VX& out, std::index_sequence<L...>) {
    out = __builtin_shufflevector(x, y, src<H>(static_cast<int>(L))...) +
          __builtin_shufflevector(x, y, (src<H>(static_cast<int>(L)) + H)...);
  }

  template <int H>
  static void stages(VX* v, int count) {
    if constexpr (H >= 1) {
      const int pairs = (count + 1) / 2;
      const VX zero{};
      for (int j = 0; j < pairs; ++j)
        combine<H>(v[2 * j], 2 * j + 1 < count ? v[2 * j + 1] : zero, v[j],
                   std::make_index_sequence<W>{});
      stages<H / 2>(v, pairs);
    }
  }

  static void sums(VX* v, int count) { stages<W / 2>(v, count); }
};

template <class S, int R, int NC>
void dot_tile(int64_t k, typename S::T alpha, const typename S::T* a, int64_t rs_a,
              const typename S::T* b, int64_t cs_b, typename S::T beta, typename S::T* c,
              int64_t rs_c, int64_t cs_c) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[R][NC];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) acc[i][j] = S::zero();
  }
  int64_t p = 0;
  for (; p + W <= k; p += W) {
    V bv[NC];
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) bv[j] = S::load(b + j * cs_b + p);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      V ai = S::load(a + i * rs_a + p);
      if constexpr (NC > 1) in_register(ai);
#pragma GCC unroll 8
      for (int j = 0; j < NC; ++j) acc[i][j] = S::fma(ai, bv[j], acc[i][j]);
    }
  }
  if (p < k) {
    const int64_t left = k - p;
    V bv[NC];
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) bv[j] = S::loadn(b + j * cs_b + p, left);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const V ai = S::loadn(a + i * rs_a + p, left);
#pragma GCC unroll 8
      for (int j = 0; j < NC; ++j) acc[i][j] = S::fma(ai, bv[j], acc[i][j]);
    }
  }
  using Tree = TreeSum<S>;
  typename Tree::VX sums[R * NC];
  static_assert(sizeof(sums) == sizeof(acc));
  __builtin_memcpy(sums, acc, sizeof(acc));
  Tree::sums(sums, R * NC);
  if (cs_c == 1 && rs_c == NC) {
    // The tile's C is one run of R * NC elements in the order of the sums (C of a product with
    // n <= DOT_C and ldc = n: n = 2 puts a whole 8 x 2 tile in one vector), so whole vectors are
    // scaled and stored instead of R * NC lanes extracted one by one. store_row's arithmetic is
    // the scalar path's below (alpha * sum rounded once, then beta * c added in one fma).
    const V va = S::bcast(alpha), vb = S::bcast(beta);
#pragma GCC unroll 8
    for (int v = 0; v * W < R * NC; ++v) {
      V sum;
      static_assert(sizeof(sum) == sizeof(sums[v]));
      __builtin_memcpy(&sum, &sums[v], sizeof(sum));
      store_row<S>(sum, va, beta, vb, c + v * W, 1, R * NC - v * W);
    }
    return;
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) {
      const T sum = sums[(i * NC + j) / W][(i * NC + j) % W];
      // As scale_acc: + 0 when beta == 0, so an exact -0 is written as +0, as reference BLAS does.
      T r = beta == T(0) ? S::fma1(alpha, sum, T(0)) : alpha * sum;
      T* cij = c + i * rs_c + j * cs_c;
      if (beta != T(0)) r = S::fma1(beta, *cij, r);
      *cij = r;
    }
  }
}

template <class S>
using DotTile = void (*)(int64_t, typename S::T, const typename S::T*, int64_t,
                         const typename S::T*, int64_t, typename S::T, typename S::T*, int64_t,
                         int64_t);

// A dot tile holds DOT_R x DOT_C accumulators; narrower tiles (the last columns, or a product
// with n < DOT_C) take more rows instead, so the FMAs keep the same number of independent chains
// and the tree sums stay full.
template <class S>
constexpr int dot_rows(int nc) {
  return S::DOT_R * S::DOT_C / nc;
}

// dot_tile<S, R, NC> for the R rows up to dot_rows(NC).
template <class S>
struct DotTiles {
  using Fn = DotTile<S>;
  template <int R, int NC>
  static constexpr bool fits = R <= dot_rows<S>(NC);
  template <int R, int NC>
  static constexpr Fn kernel() {
    return &dot_tile<S, R, NC>;
  }
};

// C[m x n] := alpha * A * B + beta * C with A rows and B columns contiguous; see kernel.hpp.
// Column tiles outside (the plan is chosen for small n), rows shared evenly between the fewest
// tiles of dot_rows(nc) rows: every element's arithmetic is the same in any tile.
template <class S>
void dot(int64_t m, int64_t n, int64_t k, typename S::T alpha, const typename S::T* a, int64_t rs_a,
         const typename S::T* b, int64_t cs_b, typename S::T beta, typename S::T* c, int64_t rs_c,
         int64_t cs_c) {
  static constexpr auto table = KernelTable<DotTiles<S>, S::DOT_R * S::DOT_C, S::DOT_C>::make();
  for (int64_t j0 = 0; j0 < n; j0 += S::DOT_C) {
    const int64_t nc = n - j0 < S::DOT_C ? n - j0 : S::DOT_C;
    static constexpr auto fit = tabulate<S::DOT_C>([](int cols) { return dot_rows<S>(cols); });
    const RowSplit<S> split(m, fit[nc - 1]);
    for (int64_t t = 0, i0 = 0; t < split.tiles; ++t) {
      const int64_t r = split.height(t);
      table.f[r - 1][nc - 1](k, alpha, a + i0 * rs_a, rs_a, b + j0 * cs_b, cs_b, beta,
                             c + i0 * rs_c + j0 * cs_c, rs_c, cs_c);
      i0 += r;
    }
  }
}

// ---- transposing copy ------------------------------------------------------------------------

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols: what the small path uses to lay a
// transposed operand out in contiguous rows. W x W blocks are transposed in registers
// (BlockTranspose); the edges are copied one element at a time.
template <class S>
void transpose_copy(int64_t rows, int64_t cols, const typename S::T* src, int64_t lds,
                    typename S::T* dst, int64_t ldd) {
  constexpr int W = S::W;
  if (cols == 2 && lds == 2) {
    // Two columns stored by rows (the weights or inputs of a layer with two inputs): W rows at
    // a time are de-interleaved with two loads and two stores, not 2 W scalar copies.
    int64_t r = 0;
    for (; r + W <= rows; r += W)
      Zip<S>::unzip(src + 2 * r, dst + r, dst + ldd + r, std::make_index_sequence<W>{});
    for (; r < rows; ++r) {
      dst[r] = src[2 * r];
      dst[ldd + r] = src[2 * r + 1];
    }
    return;
  }
  using Block = BlockTranspose<S, W>;
  const int64_t rows_w = rows / W * W, cols_w = cols / W * W;
  for (int64_t r = 0; r < rows_w; r += W)
    for (int64_t c = 0; c < cols_w; c += W)
      Block::block(src + r * lds + c, lds, dst + c * ldd + r, ldd);
  // The edges a row of dst at a time (long unit-stride runs when the operand is narrow).
  for (int64_t c = cols_w; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
  for (int64_t c = 0; c < cols_w; ++c)
    for (int64_t r = rows_w; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
}

// The Kernels<T> record for one traits type.
template <class S>
constexpr Kernels<typename S::T> make_kernels() {
  return Kernels<typename S::T>{&micro_kernel<S, S::MR, S::NV>,
                                S::MR,
                                S::NV * S::W,
                                S::W,
                                &pack_panel<S, S::MR>,
                                &pack_panel<S, S::NV * S::W>,
                                &rowbcast<S>,
                                &dot<S>,
                                &skinny_product<S>,
                                &skinny_outer<S>,
                                &column_sums<S>,
                                &skinny_tanh_layers<S>,
                                &transpose_copy<S>};
}

}  // namespace affine::detail::gemm::impl
