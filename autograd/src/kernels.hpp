// Internal: one fused elementwise loop for the vector-Jacobian products (and the losses).
//
//   Tensor d = detail::zip<2>("tanh", g.shape(), {&g, &y},
//                             [](auto g, auto y) { return g * (1 - y * y); });
//
// computes a new contiguous tensor of the given shape in one pass, where each input is broadcast
// (expanded, no copy) to that shape and may have any strides. The functor is called with the
// element type (float or double) of the first input; all inputs must share it. One pass with no
// temporaries is what "fused elementwise backward" means: tanh' costs one read of g and y and one
// write, where composing tensor ops would cost three passes and two temporaries.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail {

// One run of a row: o[i] = f(src[0][i], ..., src[N-1][i]) for i < n, every operand unit-stride.
template <class T, std::size_t N, class F, std::size_t... K>
void zip_unit(T* o, const std::array<const T*, N>& src, int64_t n, const F& f,
              std::index_sequence<K...>) {
  for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(f(src[K][i]...));
}

template <int N, class F>
Tensor zip(const char* op, const Shape& shape, const std::array<const Tensor*, N>& ins, F f) {
  static_assert(N >= 1 && N <= 4);
  const DType dt = ins[0]->dtype();
  std::array<Tensor, N> ex;
  for (int k = 0; k < N; ++k) {
    check_same_float(op, dt, ins[k]->dtype());
    ex[k] = ins[k]->shape() == shape ? *ins[k] : ins[k]->expand(shape);
  }
  Tensor out = Tensor::empty(shape, dt);
  visit_float(dt, op, [&](auto tag) {
    using T = AFFINE_T(tag);
    constexpr auto seq = std::make_index_sequence<N>{};
    std::array<Strides, N + 1> st;
    st[0] = out.strides();
    std::array<const T*, N> p{};
    for (int k = 0; k < N; ++k) {
      st[k + 1] = ex[k].strides();
      p[k] = ex[k].template data<T>();
    }
    T* po = out.data<T>();
    for_each_row<N + 1>(
        shape, st, [&](const Offsets<N + 1>& off, int64_t n, const Offsets<N + 1>& inc) {
          T* o = po + off[0];
          std::array<const T*, N> src;
          bool unit = inc[0] == 1;
          bool unit_or_broadcast = inc[0] == 1;
          for (int k = 0; k < N; ++k) {
            src[k] = p[k] + off[k + 1];
            unit = unit && inc[k + 1] == 1;
            unit_or_broadcast = unit_or_broadcast && (inc[k + 1] == 1 || inc[k + 1] == 0);
          }
          if (unit) {
            zip_unit(o, src, n, f, seq);
          } else if (unit_or_broadcast) {
            // Operands broadcast along the row (stride 0: a mean loss's scalar gradient) are read
            // from a short buffer of their value, so the loop stays unit-stride and vectorises.
            constexpr int64_t kSpan = 256;
            T fill[N][kSpan];
            for (int k = 0; k < N; ++k) {
              if (inc[k + 1] == 0) std::fill_n(fill[k], std::min(n, kSpan), *src[k]);
            }
            for (int64_t i0 = 0; i0 < n; i0 += kSpan) {
              std::array<const T*, N> span;
              for (int k = 0; k < N; ++k) span[k] = inc[k + 1] == 0 ? fill[k] : src[k] + i0;
              zip_unit(o + i0, span, std::min(kSpan, n - i0), f, seq);
            }
          } else {
            [&]<std::size_t... K>(std::index_sequence<K...>) {
              for (int64_t i = 0; i < n; ++i) {
                o[i * inc[0]] = static_cast<T>(f(src[K][i * inc[K + 1]]...));
              }
            }
            (seq);
          }
        });
  });
  return out;
}

/// softmax (log_softmax when log) of a along axis (normalised), stable for any input: a new
/// contiguous tensor. softmax.cpp; cross_entropy uses it too.
Tensor softmax_forward(const Tensor& a, int axis, bool log);

}  // namespace affine::detail
