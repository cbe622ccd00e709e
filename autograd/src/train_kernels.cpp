// The fused training loops of train_kernels.hpp. Each body is a plain loop written so the compiler
// vectorises it (unit strides, __restrict, the narrow side a compile-time constant), inlined into
// two entry points: one at the baseline ISA and one with AVX2 + FMA enabled on the function, so
// this file needs no ISA-specific compile flags and the binary still runs on any x86-64.
#include "train_kernels.hpp"

#include <type_traits>

#include "affine/tensor/parallel.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define AFFINE_TK_HAVE_AVX2 1
#define AFFINE_TK_AVX2 [[gnu::target("avx2,fma")]]
#define AFFINE_TK_AVX512 [[gnu::target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]]
#else
#define AFFINE_TK_HAVE_AVX2 0
#define AFFINE_TK_AVX2
#define AFFINE_TK_AVX512
#endif
#if defined(__GNUC__) || defined(__clang__)
#define AFFINE_TK_INLINE [[gnu::always_inline]] inline
#else
#define AFFINE_TK_INLINE inline
#endif

namespace affine::detail::train {
namespace {

// Read once: the ISA is fixed for the process (active_isa() honours AFFINE_ISA).
bool use_avx2() {
  static const bool on = AFFINE_TK_HAVE_AVX2 && active_isa() != Isa::generic;
  return on;
}
bool use_avx512() {
  static const bool on = AFFINE_TK_HAVE_AVX2 && active_isa() == Isa::avx512;
  return on;
}

// ---- bodies ------------------------------------------------------------------------------------

template <class T, int K>
AFFINE_TK_INLINE void k_product_fixed(int64_t rows, int64_t m, const T* a, int64_t lda, const T* b,
                                      const T* bias, bool accumulate, const T* y, T* c,
                                      int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* ar = a + r * lda;
    T* __restrict cr = c + r * ldc;
    T av[K];
    for (int t = 0; t < K; ++t) av[t] = ar[t];
    if (y != nullptr) {
      const T* __restrict yr = y + r * ldc;
      for (int64_t j = 0; j < m; ++j) {
        T s = T(0);
        for (int t = 0; t < K; ++t) s += av[t] * b[t * m + j];
        cr[j] = s * (T(1) - yr[j] * yr[j]);
      }
    } else if (accumulate) {
      for (int64_t j = 0; j < m; ++j) {
        T s = T(0);
        for (int t = 0; t < K; ++t) s += av[t] * b[t * m + j];
        cr[j] += s;
      }
    } else if (bias != nullptr) {
      for (int64_t j = 0; j < m; ++j) {
        T s = bias[j];
        for (int t = 0; t < K; ++t) s += av[t] * b[t * m + j];
        cr[j] = s;
      }
    } else {
      for (int64_t j = 0; j < m; ++j) {
        T s = T(0);
        for (int t = 0; t < K; ++t) s += av[t] * b[t * m + j];
        cr[j] = s;
      }
    }
  }
}

template <class T>
AFFINE_TK_INLINE void k_product_body(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda,
                                     const T* b, const T* bias, bool accumulate, const T* y, T* c,
                                     int64_t ldc) {
  switch (k) {
#define AFFINE_TK_CASE(K) \
  case K:                 \
    return k_product_fixed<T, K>(rows, m, a, lda, b, bias, accumulate, y, c, ldc);
    AFFINE_TK_CASE(1)
    AFFINE_TK_CASE(2)
    AFFINE_TK_CASE(3)
    AFFINE_TK_CASE(4)
    AFFINE_TK_CASE(5)
    AFFINE_TK_CASE(6)
    AFFINE_TK_CASE(7)
    AFFINE_TK_CASE(8)
#undef AFFINE_TK_CASE
    default:
      break;
  }
}

template <class T, int P>
AFFINE_TK_INLINE void outer_fixed(int64_t rows, int64_t q, const T* a, int64_t lda, const T* x,
                                  int64_t ldx, T* __restrict acc, T* __restrict a_sums,
                                  T* __restrict x_sums) {
  for (int64_t i = 0; i < P * q; ++i) acc[i] = T(0);
  if (x_sums != nullptr) {
    for (int64_t j = 0; j < q; ++j) x_sums[j] = T(0);
  }
  T as[P] = {};
  for (int64_t r = 0; r < rows; ++r) {
    const T* ar = a + r * lda;
    const T* __restrict xr = x + r * ldx;
    T av[P];
    for (int t = 0; t < P; ++t) {
      av[t] = ar[t];
      as[t] += av[t];
    }
    for (int t = 0; t < P; ++t) {
      T* __restrict at = acc + t * q;
      for (int64_t j = 0; j < q; ++j) at[j] += av[t] * xr[j];
    }
    if (x_sums != nullptr) {
      for (int64_t j = 0; j < q; ++j) x_sums[j] += xr[j];
    }
  }
  if (a_sums != nullptr) {
    for (int t = 0; t < P; ++t) a_sums[t] = as[t];
  }
}

template <class T>
AFFINE_TK_INLINE void outer_body(int64_t rows, int64_t p, int64_t q, const T* a, int64_t lda,
                                 const T* x, int64_t ldx, T* acc, T* a_sums, T* x_sums) {
  switch (p) {
#define AFFINE_TK_CASE(P) \
  case P:                 \
    return outer_fixed<T, P>(rows, q, a, lda, x, ldx, acc, a_sums, x_sums);
    AFFINE_TK_CASE(1)
    AFFINE_TK_CASE(2)
    AFFINE_TK_CASE(3)
    AFFINE_TK_CASE(4)
    AFFINE_TK_CASE(5)
    AFFINE_TK_CASE(6)
    AFFINE_TK_CASE(7)
    AFFINE_TK_CASE(8)
#undef AFFINE_TK_CASE
    default:
      break;
  }
}

template <class T>
AFFINE_TK_INLINE void column_sums_body(int64_t rows, int64_t m, const T* g, int64_t ldg,
                                       T* __restrict sums, bool add) {
  if (!add) {
    for (int64_t j = 0; j < m; ++j) sums[j] = T(0);
  }
  if (m == 1) {
    // One column: a plain sum, with independent partial sums so it is not one long dependency
    // chain (the order is fixed, so the result is deterministic).
    T part[8] = {};
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) {
      for (int t = 0; t < 8; ++t) part[t] += g[(r + t) * ldg];
    }
    for (; r < rows; ++r) part[0] += g[r * ldg];
    T s = T(0);
    for (int t = 0; t < 8; ++t) s += part[t];
    sums[0] += s;
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict gr = g + r * ldg;
    for (int64_t j = 0; j < m; ++j) sums[j] += gr[j];
  }
}

template <class T>
AFFINE_TK_INLINE void tanh_backward_body(int64_t n, const T* g, const T* y, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] * (T(1) - y[i] * y[i]);
}

template <class T>
AFFINE_TK_INLINE void sigmoid_backward_body(int64_t n, const T* g, const T* y, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] * y[i] * (T(1) - y[i]);
}

#if AFFINE_TK_HAVE_AVX2
// skinny_outer for float32 with AVX2 intrinsics. The plain loop keeps acc in memory and re-reads
// it every row (a store-to-load chain per element); here a block of NV * 8 columns of all P
// accumulator rows stays in registers for the whole pass over the rows, so each row costs P * NV
// FMAs with P * NV independent chains. Column order and row order are those of the plain loop.
template <int P, int NV, bool kSums>
AFFINE_TK_AVX2 void outer_block_avx2(int64_t rows, const float* a, int64_t lda, const float* x,
                                     int64_t ldx, int64_t jn, float* acc, int64_t q, float* x_sums,
                                     bool first) {
  __m256 acc_v[P][NV];
  __m256 sum_v[NV];
  __m256i mask[NV];
  for (int v = 0; v < NV; ++v) {
    const int64_t left = jn - 8 * v;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 0 ? 0 : left)), lane);
    for (int t = 0; t < P; ++t) {
      acc_v[t][v] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(acc + t * q + 8 * v, mask[v]);
    }
    sum_v[v] = first || !kSums ? _mm256_setzero_ps() : _mm256_maskload_ps(x_sums + 8 * v, mask[v]);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    const float* ar = a + r * lda;
    __m256 xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = _mm256_maskload_ps(xr + 8 * v, mask[v]);
    for (int t = 0; t < P; ++t) {
      const __m256 av = _mm256_broadcast_ss(ar + t);
      for (int v = 0; v < NV; ++v) acc_v[t][v] = _mm256_fmadd_ps(av, xv[v], acc_v[t][v]);
    }
    if constexpr (kSums) {
      for (int v = 0; v < NV; ++v) sum_v[v] = _mm256_add_ps(sum_v[v], xv[v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    for (int t = 0; t < P; ++t) _mm256_maskstore_ps(acc + t * q + 8 * v, mask[v], acc_v[t][v]);
    if constexpr (kSums) _mm256_maskstore_ps(x_sums + 8 * v, mask[v], sum_v[v]);
  }
}

template <int P>
AFFINE_TK_AVX2 void outer_fixed_avx2(int64_t rows, int64_t q, const float* a, int64_t lda,
                                     const float* x, int64_t ldx, float* acc, float* a_sums,
                                     float* x_sums) {
  // Enough independent FMA chains to cover the FMA latency, within the 16 ymm registers.
  constexpr int NV = P <= 2 ? 4 : (P <= 5 ? 2 : 1);
  // Rows in chunks whose slice of x stays in L1/L2 while every column block passes over it, so
  // x streams from memory once however many column blocks there are (a 100,000-row batch).
  constexpr int64_t kRowChunk = 128;
  for (int64_t r0 = 0; r0 < rows || r0 == 0; r0 += kRowChunk) {
    const int64_t rn = rows - r0 < kRowChunk ? rows - r0 : kRowChunk;
    for (int64_t j0 = 0; j0 < q; j0 += 8 * NV) {
      const int64_t jn = q - j0 < 8 * NV ? q - j0 : 8 * NV;
      if (x_sums != nullptr) {
        outer_block_avx2<P, NV, true>(rn, a + r0 * lda, lda, x + r0 * ldx + j0, ldx, jn, acc + j0,
                                      q, x_sums + j0, r0 == 0);
      } else {
        outer_block_avx2<P, NV, false>(rn, a + r0 * lda, lda, x + r0 * ldx + j0, ldx, jn, acc + j0,
                                       q, nullptr, r0 == 0);
      }
    }
  }
  if (a_sums != nullptr) {
    float as[P] = {};
    for (int64_t r = 0; r < rows; ++r) {
      for (int t = 0; t < P; ++t) as[t] += a[r * lda + t];
    }
    for (int t = 0; t < P; ++t) a_sums[t] = as[t];
  }
}

AFFINE_TK_AVX2 void outer_avx2_f32(int64_t rows, int64_t p, int64_t q, const float* a, int64_t lda,
                                   const float* x, int64_t ldx, float* acc, float* a_sums,
                                   float* x_sums) {
  switch (p) {
#define AFFINE_TK_CASE(P) \
  case P:                 \
    return outer_fixed_avx2<P>(rows, q, a, lda, x, ldx, acc, a_sums, x_sums);
    AFFINE_TK_CASE(1)
    AFFINE_TK_CASE(2)
    AFFINE_TK_CASE(3)
    AFFINE_TK_CASE(4)
    AFFINE_TK_CASE(5)
    AFFINE_TK_CASE(6)
    AFFINE_TK_CASE(7)
    AFFINE_TK_CASE(8)
#undef AFFINE_TK_CASE
    default:
      break;
  }
}

// The same with AVX-512: 16 columns a vector, k-masks for the edge block.
template <int P, int NV, bool kSums>
AFFINE_TK_AVX512 void outer_block_avx512(int64_t rows, const float* a, int64_t lda, const float* x,
                                         int64_t ldx, int64_t jn, float* acc, int64_t q,
                                         float* x_sums, bool first) {
  __m512 acc_v[P][NV];
  __m512 sum_v[NV];
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    const int64_t left = jn - 16 * v;
    mask[v] =
        left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (left < 0 ? 0 : left)) - 1u);
    for (int t = 0; t < P; ++t) {
      acc_v[t][v] =
          first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[v], acc + t * q + 16 * v);
    }
    sum_v[v] =
        first || !kSums ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[v], x_sums + 16 * v);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    const float* ar = a + r * lda;
    __m512 xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = _mm512_maskz_loadu_ps(mask[v], xr + 16 * v);
    for (int t = 0; t < P; ++t) {
      const __m512 av = _mm512_maskz_broadcastss_ps(__mmask16(0xFFFF), _mm_load_ss(ar + t));
      for (int v = 0; v < NV; ++v) acc_v[t][v] = _mm512_fmadd_ps(av, xv[v], acc_v[t][v]);
    }
    if constexpr (kSums) {
      for (int v = 0; v < NV; ++v) sum_v[v] = _mm512_add_ps(sum_v[v], xv[v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    for (int t = 0; t < P; ++t) _mm512_mask_storeu_ps(acc + t * q + 16 * v, mask[v], acc_v[t][v]);
    if constexpr (kSums) _mm512_mask_storeu_ps(x_sums + 16 * v, mask[v], sum_v[v]);
  }
}

template <int P>
AFFINE_TK_AVX512 void outer_fixed_avx512(int64_t rows, int64_t q, const float* a, int64_t lda,
                                         const float* x, int64_t ldx, float* acc, float* a_sums,
                                         float* x_sums) {
  constexpr int NV = P <= 4 ? 4 : 2;  // 32 zmm registers
  constexpr int64_t kRowChunk = 128;
  for (int64_t r0 = 0; r0 < rows || r0 == 0; r0 += kRowChunk) {
    const int64_t rn = rows - r0 < kRowChunk ? rows - r0 : kRowChunk;
    for (int64_t j0 = 0; j0 < q; j0 += 16 * NV) {
      const int64_t jn = q - j0 < 16 * NV ? q - j0 : 16 * NV;
      if (x_sums != nullptr) {
        outer_block_avx512<P, NV, true>(rn, a + r0 * lda, lda, x + r0 * ldx + j0, ldx, jn, acc + j0,
                                        q, x_sums + j0, r0 == 0);
      } else {
        outer_block_avx512<P, NV, false>(rn, a + r0 * lda, lda, x + r0 * ldx + j0, ldx, jn,
                                         acc + j0, q, nullptr, r0 == 0);
      }
    }
  }
  if (a_sums != nullptr) {
    float as[P] = {};
    for (int64_t r = 0; r < rows; ++r) {
      for (int t = 0; t < P; ++t) as[t] += a[r * lda + t];
    }
    for (int t = 0; t < P; ++t) a_sums[t] = as[t];
  }
}

AFFINE_TK_AVX512 void outer_avx512_f32(int64_t rows, int64_t p, int64_t q, const float* a,
                                       int64_t lda, const float* x, int64_t ldx, float* acc,
                                       float* a_sums, float* x_sums) {
  switch (p) {
#define AFFINE_TK_CASE(P) \
  case P:                 \
    return outer_fixed_avx512<P>(rows, q, a, lda, x, ldx, acc, a_sums, x_sums);
    AFFINE_TK_CASE(1)
    AFFINE_TK_CASE(2)
    AFFINE_TK_CASE(3)
    AFFINE_TK_CASE(4)
    AFFINE_TK_CASE(5)
    AFFINE_TK_CASE(6)
    AFFINE_TK_CASE(7)
    AFFINE_TK_CASE(8)
#undef AFFINE_TK_CASE
    default:
      break;
  }
}
#endif

// ---- entry points per body: baseline, AVX2 + FMA, AVX-512
// -----------------------------------------------------------------

#define AFFINE_TK_ENTRY(NAME, BODY, PARAMS, ARGS) \
  template <class T>                              \
  void NAME##_base PARAMS {                       \
    BODY<T> ARGS;                                 \
  }                                               \
  template <class T>                              \
  AFFINE_TK_AVX2 void NAME##_avx2 PARAMS {        \
    BODY<T> ARGS;                                 \
  }                                               \
  template <class T>                              \
  AFFINE_TK_AVX512 void NAME##_avx512 PARAMS {    \
    BODY<T> ARGS;                                 \
  }                                               \
  template <class T>                              \
  void NAME##_dispatch PARAMS {                   \
    if (use_avx512()) {                           \
      NAME##_avx512<T> ARGS;                      \
    } else if (use_avx2()) {                      \
      NAME##_avx2<T> ARGS;                        \
    } else {                                      \
      NAME##_base<T> ARGS;                        \
    }                                             \
  }

AFFINE_TK_ENTRY(k_product, k_product_body,
                (int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda, const T* b,
                 const T* bias, bool accumulate, const T* y, T* c, int64_t ldc),
                (rows, k, m, a, lda, b, bias, accumulate, y, c, ldc))
AFFINE_TK_ENTRY(outer, outer_body,
                (int64_t rows, int64_t p, int64_t q, const T* a, int64_t lda, const T* x,
                 int64_t ldx, T* acc, T* a_sums, T* x_sums),
                (rows, p, q, a, lda, x, ldx, acc, a_sums, x_sums))
AFFINE_TK_ENTRY(colsums, column_sums_body,
                (int64_t rows, int64_t m, const T* g, int64_t ldg, T* sums, bool add),
                (rows, m, g, ldg, sums, add))
AFFINE_TK_ENTRY(tanh_bw, tanh_backward_body, (int64_t n, const T* g, const T* y, T* out),
                (n, g, y, out))
AFFINE_TK_ENTRY(sigmoid_bw, sigmoid_backward_body, (int64_t n, const T* g, const T* y, T* out),
                (n, g, y, out))
#undef AFFINE_TK_ENTRY

}  // namespace

template <class T>
void skinny_k_product(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda, const T* b,
                      const T* bias, bool accumulate, T* c, int64_t ldc) {
  k_product_dispatch<T>(rows, k, m, a, lda, b, bias, accumulate, nullptr, c, ldc);
}

template <class T>
void skinny_k_product_tanh(int64_t rows, int64_t k, int64_t m, const T* a, int64_t lda, const T* b,
                           const T* y, T* c, int64_t ldc) {
  k_product_dispatch<T>(rows, k, m, a, lda, b, nullptr, false, y, c, ldc);
}

template <class T>
void skinny_outer(int64_t rows, int64_t p, int64_t q, const T* a, int64_t lda, const T* x,
                  int64_t ldx, T* acc, T* a_sums, T* x_sums) {
#if AFFINE_TK_HAVE_AVX2
  if constexpr (std::is_same_v<T, float>) {
    if (use_avx512()) return outer_avx512_f32(rows, p, q, a, lda, x, ldx, acc, a_sums, x_sums);
    if (use_avx2()) return outer_avx2_f32(rows, p, q, a, lda, x, ldx, acc, a_sums, x_sums);
  }
#endif
  outer_dispatch<T>(rows, p, q, a, lda, x, ldx, acc, a_sums, x_sums);
}

template <class T>
void column_sums(int64_t rows, int64_t m, const T* g, int64_t ldg, T* sums, bool add) {
  colsums_dispatch<T>(rows, m, g, ldg, sums, add);
}

template <class T>
void tanh_backward(int64_t n, const T* g, const T* y, T* out) {
  tanh_bw_dispatch<T>(n, g, y, out);
}

template <class T>
void sigmoid_backward(int64_t n, const T* g, const T* y, T* out) {
  sigmoid_bw_dispatch<T>(n, g, y, out);
}

#define AFFINE_TK_INSTANTIATE(T)                                                                 \
  template void skinny_k_product<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*,      \
                                    const T*, bool, T*, int64_t);                                \
  template void skinny_k_product_tanh<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, \
                                         const T*, T*, int64_t);                                 \
  template void skinny_outer<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, \
                                T*, T*, T*);                                                     \
  template void column_sums<T>(int64_t, int64_t, const T*, int64_t, T*, bool);                   \
  template void tanh_backward<T>(int64_t, const T*, const T*, T*);                               \
  template void sigmoid_backward<T>(int64_t, const T*, const T*, T*);
AFFINE_TK_INSTANTIATE(float)
AFFINE_TK_INSTANTIATE(double)
#undef AFFINE_TK_INSTANTIATE

}  // namespace affine::detail::train
