// Internal: fused loops for the training hot path (issue 7), float32 and float64.
//
// Small networks are made of skinny products: a layer with 2 inputs or 2 outputs multiplies a
// [rows, 100] matrix by a [100, 2] or [2, 100] one. For those the GEMM (packing, tiles sized for
// big blocks) and the separate bias copy and column-sum passes cost more than the arithmetic, so
// the fused linear uses these one-pass loops instead when one side of the weight is at most
// kSkinny wide; everything else still goes to the GEMM.
//
// Each function is compiled twice in train_kernels.cpp, for baseline x86-64 and with AVX2 + FMA
// enabled on the function (GCC/Clang target attribute), and the AVX2 body is chosen at run time
// from affine::active_isa() (so AFFINE_ISA=generic forces the portable one, as for the GEMM).
// Results differ between the two only by the roundings an FMA saves. Summation order over rows
// is sequential in both, so results do not depend on the batch being split or threads.
#pragma once

#include <cstdint>

namespace affine::detail::train {

/// The widest side (in or out features) the skinny loops take.
inline constexpr int64_t kSkinny = 8;
/// The longest vector side they take (keeps their accumulators on the stack).
inline constexpr int64_t kMaxWide = 1024;

/// c[r, :] = bias + sum_{t<k} a[r, t] * b[t, :] for r < rows (bias may be null: 0); with
/// accumulate, c[r, :] += sum ... instead (bias ignored). a has unit column stride and row stride
/// lda; b is [k, m] contiguous; c has unit column stride and row stride ldc. k <= kSkinny.
template <class T>
void skinny_k_product(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda, const T* b,
                      const T* bias, bool accumulate, T* c, int64_t ldc);

/// c[r, :] = (sum_{t<k} a[r, t] * b[t, :]) * (1 - y[r, :]^2): the gradient G W through a tanh
/// whose output is y (row stride ldc, like c), in the same pass. k <= kSkinny.
template <class T>
void skinny_k_product_tanh(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda, const T* b,
                           const T* y, T* c, int64_t ldc);

/// acc[p_i * q + j] = sum_r a[r, p_i] * x[r, j] for p_i < p, j < q (overwritten); when
/// a_sums / x_sums are not null they receive the column sums of a ([p]) and of x ([q]).
/// a and x have unit column strides and row strides lda, ldx. p <= kSkinny, q <= kMaxWide.
template <class T>
void skinny_outer(int64_t rows, int64_t p, int64_t q, const T* a, int64_t lda, const T* x,
                  int64_t ldx, T* acc, T* a_sums, T* x_sums);

/// sums[j] (+)= sum_r g[r, j] (unit column stride, row stride ldg); add selects +=.
template <class T>
void column_sums(int64_t rows, int64_t m, const T* g, int64_t ldg, T* sums, bool add);

/// out[i] = g[i] * (1 - y[i]^2) (tanh' from its output), n contiguous elements; out may equal g.
template <class T>
void tanh_backward(int64_t n, const T* g, const T* y, T* out);

/// out[i] = g[i] * y[i] * (1 - y[i]) (sigmoid' from its output); out may equal g.
template <class T>
void sigmoid_backward(int64_t n, const T* g, const T* y, T* out);

}  // namespace affine::detail::train
