// AVX-512F kernels (compiled with AVX-512 flags; reached only after CPUID says the CPU has them).
//
// Float micro-kernel 12 x 32: 24 zmm accumulators, 2 zmm of B per k step and 12 broadcasts of A
// (folded into the FMAs as embedded-broadcast memory operands), leaving registers for the
// compiler. Every k step is 24 independent FMAs, enough to cover FMA latency (4) times the two
// FMA pipes. Double uses the same 12 x (2 vectors) shape, i.e. 12 x 16.
#include <immintrin.h>

#include "kernel_impl.hpp"
#include "vmath_policy_avx512.hpp"

namespace affine::detail::gemm {
namespace {

struct F512 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static constexpr int MR = 12, NV = 2;                     // micro-kernel 12 x 32
  static constexpr int PREFETCH = 8;                        // k steps ahead
  static constexpr int RB_R = 12, RB_NV = 8, RB_REGS = 31;  // rowbcast 12 x 32 ... 2 x 128
  static constexpr int RB_NV_DEEP = 4;
  static constexpr int DOT_R = 4, DOT_C = 4;  // dot tile 4 x 4
  static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static V loadn(const T* p, int64_t n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void storen(T* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static V bcast(T x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // maskz extracts: the plain ones (and the casts, and _mm512_reduce_add_*) trip GCC 12's
  // -Wuninitialized inside <immintrin.h>.
  static T hsum(V v) {
    const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0),
                                   _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static T fma1(T a, T b, T c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  // vmath's tanh (the same code as its array loop, so the same bits) on a vector in registers.
  static V tanh(V x) { return vmath::impl::tanh<vmath::Avx512>(x); }
  // Lane i of the result is lane idx[i] of v (any lane to any lane).
  using Idx = __m512i;
  static Idx load_idx(const int32_t* p) { return _mm512_loadu_si512(p); }
  static V permute(V v, Idx idx) { return _mm512_permutexvar_ps(idx, v); }
};

struct D512 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static constexpr int MR = 12, NV = 2;  // micro-kernel 12 x 16
  static constexpr int PREFETCH = 8;
  static constexpr int RB_R = 12, RB_NV = 8, RB_REGS = 31;  // rowbcast 12 x 16 ... 2 x 64
  static constexpr int RB_NV_DEEP = 4;
  static constexpr int DOT_R = 4, DOT_C = 4;
  static __mmask8 mask(int64_t n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static V loadn(const T* p, int64_t n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static void storen(T* p, V v, int64_t n) { _mm512_mask_storeu_pd(p, mask(n), v); }
  static V bcast(T x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static T hsum(V v) {
    const __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0),
                                    _mm512_maskz_extractf64x4_pd(0xF, v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static T fma1(T a, T b, T c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
  }
};

}  // namespace

const IsaKernels& kernels_avx512() {
  static const IsaKernels k{impl::make_kernels<F512>(), impl::make_kernels<D512>()};
  return k;
}

}  // namespace affine::detail::gemm
