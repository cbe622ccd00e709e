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

#include <array>
#include <cstdint>
#include <string>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail {

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
          bool unit = inc[0] == 1;
          for (int k = 1; k <= N; ++k) unit = unit && inc[k] == 1;
          if constexpr (N == 1) {
            const T* a = p[0] + off[1];
            if (unit) {
              for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(f(a[i]));
            } else {
              for (int64_t i = 0; i < n; ++i) o[i * inc[0]] = static_cast<T>(f(a[i * inc[1]]));
            }
          } else if constexpr (N == 2) {
            const T* a = p[0] + off[1];
            const T* b = p[1] + off[2];
            if (unit) {
              for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(f(a[i], b[i]));
            } else {
              for (int64_t i = 0; i < n; ++i) {
                o[i * inc[0]] = static_cast<T>(f(a[i * inc[1]], b[i * inc[2]]));
              }
            }
          } else if constexpr (N == 3) {
            const T* a = p[0] + off[1];
            const T* b = p[1] + off[2];
            const T* c = p[2] + off[3];
            if (unit) {
              for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(f(a[i], b[i], c[i]));
            } else {
              for (int64_t i = 0; i < n; ++i) {
                o[i * inc[0]] = static_cast<T>(f(a[i * inc[1]], b[i * inc[2]], c[i * inc[3]]));
              }
            }
          } else {
            const T* a = p[0] + off[1];
            const T* b = p[1] + off[2];
            const T* c = p[2] + off[3];
            const T* d = p[3] + off[4];
            for (int64_t i = 0; i < n; ++i) {
              o[i * inc[0]] =
                  static_cast<T>(f(a[i * inc[1]], b[i * inc[2]], c[i * inc[3]], d[i * inc[4]]));
            }
          }
        });
  });
  return out;
}

/// softmax (log_softmax when log) of a along axis (normalised), stable for any input: a new
/// contiguous tensor. softmax.cpp; cross_entropy uses it too.
Tensor softmax_forward(const Tensor& a, int axis, bool log);

}  // namespace affine::detail
