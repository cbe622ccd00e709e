// Internal: the rotation applier of rotations.hpp, written once in plain C++ over fixed-width
// strips so the compiler vectorises it for the ISA of the file that includes it
// (rotations_generic.cpp, rotations_avx2.cpp, rotations_avx512.cpp). The compiler may contract
// c * x + s * y into an FMA where the ISA has one, so variants differ in the last bits (as GEMM's).
#pragma once

#include <cstdint>

#include "linalg/rotations.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg::impl {
// Internal linkage: each ISA's file gets its own copy (one shared template instantiation would
// let the linker pick any file's code, whatever the CPU dispatch chose).
namespace {

// A strip of W rows is K = W / L vectors of L elements (GCC/Clang vector extensions, lowered to
// whatever the file's ISA has). The carry of a sweep lives in K named registers (a fixed-size
// array indexed only by unrolled constants, which the compiler keeps in registers), so its
// loop-carried dependency never goes through memory, and the K independent chains hide the
// multiply-add latency.
template <class T>
struct Lanes {
  static constexpr int L = 64 / static_cast<int>(sizeof(T));
  using V __attribute__((vector_size(64))) = T;
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

// One strip of W rows (the last strip is zero-padded to W).
template <class T, int W>
void apply_strip(const RotationBatch<T>& batch, T* z, int64_t ld) {
  constexpr int K = W / Lanes<T>::L;
  static_assert(K * Lanes<T>::L == W);
  Regs<T, K> carry, x, out;
  for (const Sweep& sw : batch.sweeps) {
    const T* cs = batch.c.data() + sw.offset;
    const T* sn = batch.s.data() + sw.offset;
    if (sw.count == 0) continue;
    // Every kind is: a = column j (loaded), b = the carry; write one of the two results back and
    // carry the other. down: j = first - t, writes b' to column j + 1, carries a'. up: the
    // carry is column j, the loaded one column j + 1; writes a' to column j, carries b'. pivot:
    // writes a' to column j, carries b' (column fixed).
    const bool up = sw.kind == SweepKind::up;
    const bool down = sw.kind == SweepKind::down;
    const int64_t step = sw.kind == SweepKind::down || sw.kind == SweepKind::pivot_down ? -1 : 1;
    const int64_t carry_col = down ? sw.first + 1 : up ? sw.first : sw.fixed;
    carry.load(z + carry_col * ld);
    for (int64_t t = 0; t < sw.count; ++t) {
      const T c = cs[t], s = sn[t];
      const int64_t j = sw.first + step * t;
      if (up) {  // (carry = column j, x = column j+1)
        x.load(z + (j + 1) * ld);
#pragma GCC unroll 16
        for (int k = 0; k < K; ++k) {
          out.r[k] = c * carry.r[k] + s * x.r[k];
          carry.r[k] = c * x.r[k] - s * carry.r[k];
        }
        out.store(z + j * ld);
      } else {  // x = column j, carry = column j+1 (down) or fixed (pivot)
        x.load(z + j * ld);
#pragma GCC unroll 16
        for (int k = 0; k < K; ++k) {
          const typename Lanes<T>::V a = c * x.r[k] + s * carry.r[k];
          const typename Lanes<T>::V b = c * carry.r[k] - s * x.r[k];
          out.r[k] = down ? b : a;
          carry.r[k] = down ? a : b;
        }
        out.store(z + (down ? j + 1 : j) * ld);
      }
    }
    const int64_t last = sw.first + step * (sw.count - 1);
    carry.store(z + (down ? last : up ? last + 1 : sw.fixed) * ld);
  }
}

// Every strip (packed, rotations.hpp) on its own: strips are independent, so they run on threads.
template <class T>
void apply(const RotationBatch<T>& batch, T* packed, int64_t strips, int64_t cols) {
  constexpr int W = static_cast<int>(kStripRows<T>);
  // Below ~64K element-rotations per strip a thread costs more to wake than it saves.
  const int threads =
      static_cast<int64_t>(batch.c.size()) * W < (int64_t{1} << 16) ? 1 : num_threads();
  parallel_for(strips, threads,
               [&](int64_t k) { apply_strip<T, W>(batch, packed + k * cols * W, W); });
}

}  // namespace
}  // namespace affine::detail::linalg::impl
