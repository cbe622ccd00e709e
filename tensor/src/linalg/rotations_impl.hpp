// Internal: the rotation applier of rotations.hpp, written once in plain C++ over fixed-width
// strips so the compiler vectorises it for the ISA of the file that includes it
// (rotations_generic.cpp, rotations_avx2.cpp, rotations_avx512.cpp). The compiler may contract
// c * x + s * y into an FMA where the ISA has one, so variants differ in the last bits (as GEMM's).
#pragma once

#include <cstdint>

#include "linalg/rotations.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg::impl {

// One strip of W rows (W a compile-time constant, so the inner loops are fixed-length vector
// code; the last strip is zero-padded to W).
template <class T, int W>
void apply_strip(const RotationBatch<T>& batch, T* z, int64_t ld) {
  constexpr int64_t n = W;
  T carry[W];
  T x[W];
  for (const Sweep& sw : batch.sweeps) {
    const T* cs = batch.c.data() + sw.offset;
    const T* sn = batch.s.data() + sw.offset;
    if (sw.count == 0) continue;
    switch (sw.kind) {
      case SweepKind::down: {  // (j, j+1), j = first, first-1, ...: carry is column j+1
        T* col = z + (sw.first + 1) * ld;
        for (int64_t r = 0; r < n; ++r) carry[r] = col[r];
        for (int64_t t = 0; t < sw.count; ++t) {
          const T c = cs[t], s = sn[t];
          T* a = z + (sw.first - t) * ld;
          T* b = a + ld;
          for (int64_t r = 0; r < n; ++r) x[r] = a[r];
          for (int64_t r = 0; r < n; ++r) b[r] = c * carry[r] - s * x[r];
          for (int64_t r = 0; r < n; ++r) carry[r] = c * x[r] + s * carry[r];
        }
        T* last = z + (sw.first - sw.count + 1) * ld;
        for (int64_t r = 0; r < n; ++r) last[r] = carry[r];
        break;
      }
      case SweepKind::up: {  // (j, j+1), j = first, first+1, ...: carry is column j
        T* col = z + sw.first * ld;
        for (int64_t r = 0; r < n; ++r) carry[r] = col[r];
        for (int64_t t = 0; t < sw.count; ++t) {
          const T c = cs[t], s = sn[t];
          T* a = z + (sw.first + t) * ld;
          T* b = a + ld;
          for (int64_t r = 0; r < n; ++r) x[r] = b[r];
          for (int64_t r = 0; r < n; ++r) a[r] = c * carry[r] + s * x[r];
          for (int64_t r = 0; r < n; ++r) carry[r] = c * x[r] - s * carry[r];
        }
        T* last = z + (sw.first + sw.count) * ld;
        for (int64_t r = 0; r < n; ++r) last[r] = carry[r];
        break;
      }
      case SweepKind::pivot_down:
      case SweepKind::pivot_up: {  // (j, fixed): carry is column fixed
        const int64_t step = sw.kind == SweepKind::pivot_down ? -1 : 1;
        T* f = z + sw.fixed * ld;
        for (int64_t r = 0; r < n; ++r) carry[r] = f[r];
        for (int64_t t = 0; t < sw.count; ++t) {
          const T c = cs[t], s = sn[t];
          T* a = z + (sw.first + step * t) * ld;
          for (int64_t r = 0; r < n; ++r) x[r] = a[r];
          for (int64_t r = 0; r < n; ++r) a[r] = c * x[r] + s * carry[r];
          for (int64_t r = 0; r < n; ++r) carry[r] = c * carry[r] - s * x[r];
        }
        for (int64_t r = 0; r < n; ++r) f[r] = carry[r];
        break;
      }
    }
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

}  // namespace affine::detail::linalg::impl
