// Internal: the rotation applier of rotations.hpp, written once in plain C++ over fixed-width
// strips so the compiler vectorises it for the ISA of the file that includes it
// (rotations_generic.cpp, rotations_avx2.cpp, rotations_avx512.cpp). The AVX-512 variant fuses
// multiply-adds and the others do not, so variants differ in the last bits (as GEMM's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

#include "gemm/parallel_threshold.hpp"
#include "linalg/native_vector.hpp"
#include "linalg/rotations.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg::impl {
// Internal linkage: each ISA's file gets its own copy (one shared template instantiation would
// let the linker pick any file's code, whatever the CPU dispatch chose).
namespace {

// A strip of W rows is K = W / L vectors of L elements (GCC/Clang vector extensions) of the
// file's native register width: wider ones would be split by the compiler through the stack. The
// carry of a sweep lives in K named registers (a fixed-size array indexed only by unrolled
// constants, which the compiler keeps in registers), so its loop-carried dependency never goes
// through memory, and the K independent chains hide the multiply-add latency.
// kStages, the sweeps per wavefront (below): as many carries (a column of the strip: 128 bytes)
// as the ISA's registers hold besides the input, its result and the broadcast c and s (32 zmm: 2
// each; 16 ymm: 4 each).
inline constexpr int kStages = kNativeBytes == 64 ? 8 : kNativeBytes == 32 ? 2 : 1;

template <class T>
struct Lanes {
  static constexpr int L = kNativeBytes / static_cast<int>(sizeof(T));
  using V __attribute__((vector_size(kNativeBytes))) = T;
};

template <class T, int K>
struct Regs {
  using V = typename Lanes<T>::V;
  V r[K];
  void load(const T* p) {
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) __builtin_memcpy(&r[k], p + k * Lanes<T>::L, sizeof(V));
  }
  void store(T* p) const {
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) __builtin_memcpy(p + k * Lanes<T>::L, &r[k], sizeof(V));
  }
};

// One rotation of K vector pairs: (in, carry) := (c carry - s in, c in + s carry). On AVX-512 with
// explicit FMAs (the project's -ffp-contract=off leaves the plain expression unfused) and c, s
// broadcast straight from memory: broadcasting from a register, or negating s first, would take
// the shuffle port that the second FMA unit shares, and that cost a third of the kernel's rate.
template <class T, int K>
inline void rotate(const T* cp, const T* sp, Regs<T, K>& carry, Regs<T, K>& in) {
  using V = typename Lanes<T>::V;
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 8) {
    const __m512d c = _mm512_set1_pd(*cp), s = _mm512_set1_pd(*sp);
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      const __m512d x = reinterpret_cast<__m512d>(in.r[k]),
                    y = reinterpret_cast<__m512d>(carry.r[k]);
      in.r[k] = reinterpret_cast<V>(_mm512_fmsub_pd(c, y, _mm512_mul_pd(s, x)));
      carry.r[k] = reinterpret_cast<V>(_mm512_fmadd_pd(c, x, _mm512_mul_pd(s, y)));
    }
  } else {
    const __m512 c = _mm512_set1_ps(*cp), s = _mm512_set1_ps(*sp);
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      const __m512 x = reinterpret_cast<__m512>(in.r[k]), y = reinterpret_cast<__m512>(carry.r[k]);
      in.r[k] = reinterpret_cast<V>(_mm512_fmsub_ps(c, y, _mm512_mul_ps(s, x)));
      carry.r[k] = reinterpret_cast<V>(_mm512_fmadd_ps(c, x, _mm512_mul_ps(s, y)));
    }
  }
#else
  const T c = *cp, s = *sp;
#pragma GCC unroll 16
  for (int k = 0; k < K; ++k) {
    const V out = c * carry.r[k] - s * in.r[k];
    carry.r[k] = c * in.r[k] + s * carry.r[k];
    in.r[k] = out;
  }
#endif
}

// A pivot sweep (every rotation shares column `fixed`, which stays in the carry) on one strip.
template <class T, int K>
void apply_pivot_sweep(const Sweep& sw, const T* cs, const T* sn, T* z, int64_t ld) {
  Regs<T, K> carry, x;
  const int64_t step = sw.kind == SweepKind::pivot_down ? -1 : 1;
  carry.load(z + sw.fixed * ld);
  for (int64_t t = 0; t < sw.count; ++t) {
    const T c = cs[t], s = sn[t];
    const int64_t j = sw.first + step * t;
    x.load(z + j * ld);
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      const typename Lanes<T>::V a = c * x.r[k] + s * carry.r[k];
      carry.r[k] = c * carry.r[k] - s * x.r[k];
      x.r[k] = a;
    }
    x.store(z + j * ld);
  }
  carry.store(z + sw.fixed * ld);
}

// Up to kStages consecutive down (or up) sweeps applied as one wavefront. In "down form" every
// rotation of a sweep pairs positions (q, q + 1) and a sweep runs q = first, first - 1, ...; an
// up sweep is a down sweep over the mirrored positions q = -j - 1 (so position q is column -q)
// with s negated. Sweep t + 1 may apply its rotation at q as soon as sweep t has applied its
// rotation at q - 1, which is one step later in the pipeline: at step p stage t works at
// q = F - p + t. Each stage keeps its carry (column q + 1) in registers and hands the finished
// column to the next stage, so a column is loaded and stored once per group instead of once per
// sweep: the strip then stays cheap enough in L1/L2 traffic for the multiply-adds to set the
// pace. Sweeps shorter than the group's range [L, F] are padded with identity rotations (c = 1,
// s = 0, exact: a swap of carry and input).
struct Group {
  int64_t F = 0, L = 0;  ///< the group's range of positions (down form)
  int stages = 0;        ///< sweeps in the group; 0 marks a lone pivot sweep
  bool up = false;
  int64_t coef =
      0;  ///< offset of step 0's coefficients: stage t of step p at coef + p * stages + t
  size_t sweep = 0;  ///< the pivot sweep (stages == 0)
};

template <class T>
struct Schedule {
  std::vector<Group> groups;
  std::vector<T> c, s;
};

template <class T>
Schedule<T> make_schedule(const RotationBatch<T>& batch) {
  Schedule<T> sch;
  const auto& sw = batch.sweeps;
  // Down-form range of sweep i: [first_q - count + 1, first_q].
  auto first_q = [&](const Sweep& x) { return x.kind == SweepKind::up ? -x.first - 1 : x.first; };
  size_t i = 0;
  while (i < sw.size()) {
    if (sw[i].count == 0) {
      ++i;
      continue;
    }
    if (sw[i].kind == SweepKind::pivot_down || sw[i].kind == SweepKind::pivot_up) {
      sch.groups.push_back({0, 0, 0, false, 0, i});
      ++i;
      continue;
    }
    // Grow the group while the padding stays small (at most a quarter of the real rotations).
    const bool up = sw[i].kind == SweepKind::up;
    int64_t F = first_q(sw[i]), L = F - sw[i].count + 1, real = sw[i].count;
    size_t e = i + 1;
    while (e < sw.size() && static_cast<int>(e - i) < kStages && sw[e].kind == sw[i].kind &&
           sw[e].count > 0) {
      const int64_t f = first_q(sw[e]), F2 = std::max(F, f), L2 = std::min(L, f - sw[e].count + 1);
      const int64_t real2 = real + sw[e].count;
      if (static_cast<int64_t>(e - i + 1) * (F2 - L2 + 1) > real2 + real2 / 4 + 8) break;
      F = F2, L = L2, real = real2;
      ++e;
    }
    const int g = static_cast<int>(e - i);
    Group grp{F, L, g, up, static_cast<int64_t>(sch.c.size()), 0};
    for (int64_t p = 0; p <= F - L + g; ++p) {
      for (int t = 0; t < g; ++t) {
        const Sweep& x = sw[i + static_cast<size_t>(t)];
        const int64_t idx = first_q(x) - (F - p + t);  // rotation index within sweep t
        const bool real_rot = idx >= 0 && idx < x.count;
        sch.c.push_back(real_rot ? batch.c[static_cast<size_t>(x.offset + idx)] : T(1));
        const T sv = real_rot ? batch.s[static_cast<size_t>(x.offset + idx)] : T(0);
        sch.s.push_back(up ? -sv : sv);
      }
    }
    sch.groups.push_back(grp);
    i = e;
  }
  return sch;
}

// One group on one strip; column q (down form) at col(q) = z + (up ? -q : q) * ld.
template <class T, int K, int G>
void apply_group(const Group& g, const T* cs, const T* sn, T* z, int64_t ld) {
  const int64_t dir = g.up ? -ld : ld;
  auto col = [&](int64_t q) { return z + q * dir; };
  Regs<T, K> carry[G] = {}, in = {};
  const int64_t F = g.F, L = g.L;
  // One pipeline step; the steady steps (every stage inside [L, F]) skip the boundary cases.
  auto step = [&](int64_t p, auto steady) {
    const T* c = cs + p * G;
    const T* s = sn + p * G;
    bool have = F - p >= L;
    if (have) in.load(col(F - p));
    // The column a few steps ahead (two cache lines), from L2: a strip of every column exceeds L1.
    static_assert(K * sizeof(typename Lanes<T>::V) == 128);
    __builtin_prefetch(col(F - p - 4));
    __builtin_prefetch(col(F - p - 4) + 64 / sizeof(T));
    int64_t q = F - p;
#pragma GCC unroll 16
    for (int t = 0; t < G; ++t) {
      q = F - p + t;
      if constexpr (!decltype(steady)::value) {
        if (q > F + 1) break;
        if (q == F + 1) {
          carry[t] = in;
          have = false;
          break;
        }
        if (q == L - 1) {
          in = carry[t];
          have = true;
          continue;
        }
        if (q < L - 1) {
          have = false;
          continue;
        }
      }
      rotate<T, K>(c + t, s + t, carry[t], in);
    }
    if (have) in.store(col(q + 1));
  };
  carry[0].load(col(F + 1));
  const int64_t steady_from = G - 1, steady_to = F - L;  // steps with every stage in [L, F]
  int64_t p = 0;
  for (; p < std::min(steady_from, steady_to + 1); ++p) step(p, std::false_type{});
  for (; p <= steady_to; ++p) step(p, std::true_type{});
  for (; p <= F - L + G; ++p) step(p, std::false_type{});
}

template <class T, int K, int G>
void apply_group_upto(const Group& g, const T* cs, const T* sn, T* z, int64_t ld) {
  if constexpr (G > 1) {
    if (g.stages < G) return apply_group_upto<T, K, G - 1>(g, cs, sn, z, ld);
  }
  apply_group<T, K, G>(g, cs, sn, z, ld);
}

// Subnormal numbers: the rotations of converged parts (s near 0) keep shrinking the vector
// matrices' tiny entries until they are subnormal, and each operation on one takes a microcode
// assist (~100 cycles): the SVD's U and V were rotated at a quarter of eigh's rate (gesdd n = 1024
// 990 -> 709 ms with this). Each task flushes them to zero (MXCSR's FTZ and DAZ, restored after): a
// change of at most the smallest normal number (2.2e-308 in double) in entries of an orthogonal
// matrix, far below its rounding errors, and the same for any thread count.
struct FlushSubnormals {
#if defined(__x86_64__) || defined(_M_X64)
  unsigned saved = _mm_getcsr();
  FlushSubnormals() { _mm_setcsr(saved | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
  ~FlushSubnormals() { _mm_setcsr(saved); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;
#endif
};

// Every strip (packed, rotations.hpp) on its own: strips are independent, so they run on threads.
template <class T>
void apply(const RotationBatch<T>& batch, T* packed, int64_t strips, int64_t cols) {
  constexpr int W = static_cast<int>(kStripRows<T>);
  constexpr int K = W / Lanes<T>::L;
  static_assert(K * Lanes<T>::L == W);
  const Schedule<T> sch = make_schedule(batch);
  // Each element of a rotated pair costs a multiply and a multiply-add; one fork-join for all
  // strips (gemm::worth_threads measures what a thread must save to be worth waking).
  const int64_t work = strips * static_cast<int64_t>(batch.c.size()) * W * 2;
  const int threads = gemm::worth_threads<T>(work, 1) ? num_threads() : 1;
  parallel_for(strips, threads, [&](int64_t k) {
    const FlushSubnormals ftz;
    T* z = packed + k * cols * W;
    for (const Group& g : sch.groups) {
      if (g.stages == 0) {
        const Sweep& sw = batch.sweeps[g.sweep];
        apply_pivot_sweep<T, K>(sw, batch.c.data() + sw.offset, batch.s.data() + sw.offset, z, W);
      } else {
        apply_group_upto<T, K, kStages>(g, sch.c.data() + g.coef, sch.s.data() + g.coef, z, W);
      }
    }
  });
}

}  // namespace
}  // namespace affine::detail::linalg::impl
