// AVX2 + FMA kernels (compiled with -mavx2 -mfma; reached only after CPUID says so).
//
// Micro-kernel 6 x 16 floats (6 x 8 doubles): 12 ymm accumulators + 2 of B + 1 broadcast = 15 of
// the 16 ymm registers, the classic Haswell shape (12 independent FMAs per k step cover the
// 5-cycle latency of two FMA pipes).
#include <immintrin.h>

#include "kernel_impl.hpp"
#include "vmath_policy_avx2.hpp"

namespace affine::detail::gemm {
namespace {

// Lane masks for maskload/maskstore: the first n of 8 lanes set.
alignas(32) constexpr int32_t kMask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                             0,  0,  0,  0,  0,  0,  0,  0};
alignas(32) constexpr int64_t kMask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

struct F256 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static constexpr int MR = 6, NV = 2;
  static constexpr int PREFETCH = 0;
  static constexpr int RB_R = 6, RB_NV = 4, RB_REGS = 15, RB_NV_DEEP = 2;
  static constexpr int DOT_R = 4, DOT_C = 2;
  static __m256i mask(int64_t n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask32 + 8 - n));
  }
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static V loadn(const T* p, int64_t n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static void storen(T* p, V v, int64_t n) { _mm256_maskstore_ps(p, mask(n), v); }
  static V bcast(T x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static T hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static T fma1(T a, T b, T c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  // vmath's tanh (the same code as its array loop, so the same bits) on a vector in registers.
  static V tanh(V x) { return vmath::impl::tanh<vmath::Avx2>(x); }
  // Lane i of the result is lane idx[i] of v (any lane to any lane).
  using Idx = __m256i;
  static Idx load_idx(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static V permute(V v, Idx idx) { return _mm256_permutevar8x32_ps(v, idx); }
};

struct D256 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static constexpr int MR = 6, NV = 2;
  static constexpr int PREFETCH = 0;
  static constexpr int RB_R = 6, RB_NV = 4, RB_REGS = 15, RB_NV_DEEP = 2;
  static constexpr int DOT_R = 4, DOT_C = 2;
  static __m256i mask(int64_t n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask64 + 4 - n));
  }
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static V loadn(const T* p, int64_t n) { return _mm256_maskload_pd(p, mask(n)); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static void storen(T* p, V v, int64_t n) { _mm256_maskstore_pd(p, mask(n), v); }
  static V bcast(T x) { return _mm256_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static T hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static T fma1(T a, T b, T c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
  }
};

}  // namespace

const IsaKernels& kernels_avx2() {
  static const IsaKernels k{impl::make_kernels<F256>(), impl::make_kernels<D256>()};
  return k;
}

}  // namespace affine::detail::gemm
