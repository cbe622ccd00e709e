// Internal: the rotation applier of rotations.hpp, written once in plain C++ over fixed-width
// strips so the compiler vectorises it for the ISA of the file that includes it
// (rotations_generic.cpp, rotations_avx2.cpp, rotations_avx512.cpp). The compiler may contract
// c * x + s * y into an FMA where the ISA has one, so variants differ in the last bits (as GEMM's).
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/kernel.hpp"
#include "linalg/rotations.hpp"
#include "parallel_for.hpp"

namespace affine::detail::linalg::impl {

// One strip of W rows (W a compile-time constant, so the inner loops are fixed-length vector code)
// or of w <= W rows at the bottom edge.
template <class T, int W, bool kFull>
void apply_strip(const RotationBatch<T>& batch, T* z, int64_t ld, int64_t w) {
  const int64_t n = kFull ? W : w;
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

// Strips of W rows. A strip of every column is first packed into a contiguous buffer (column j's
// W elements at j * W): adjacent columns then lie next to each other, so a sweep streams through
// memory the prefetchers follow, instead of jumping a whole column (ld elements, often a page or
// more) per rotation. The buffer (columns * W elements) stays in L2 while the batch streams by.
template <class T, int W>
void apply(const RotationBatch<T>& batch, T* z, int64_t rows, int64_t cols, int64_t ld) {
  const int64_t strips = (rows + W - 1) / W;
  // Below ~64K element-rotations per strip a thread costs more to wake than it saves.
  const int threads =
      static_cast<int64_t>(batch.c.size()) * W < (int64_t{1} << 16) ? 1 : num_threads();
  parallel_for(strips, threads, [&](int64_t k) {
    const int64_t r0 = k * W;
    const int64_t w = std::min<int64_t>(W, rows - r0);
    T* buf = static_cast<T*>(gemm::scratch(gemm::kScratchLinalg, cols * W * int64_t{sizeof(T)}));
    for (int64_t j = 0; j < cols; ++j) {
      const T* src = z + r0 + j * ld;
      T* dst = buf + j * W;
      for (int64_t r = 0; r < w; ++r) dst[r] = src[r];
    }
    if (w == W) {
      apply_strip<T, W, true>(batch, buf, W, w);
    } else {
      apply_strip<T, W, false>(batch, buf, W, w);
    }
    for (int64_t j = 0; j < cols; ++j) {
      const T* src = buf + j * W;
      T* dst = z + r0 + j * ld;
      for (int64_t r = 0; r < w; ++r) dst[r] = src[r];
    }
  });
}

}  // namespace affine::detail::linalg::impl
