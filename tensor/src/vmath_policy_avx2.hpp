// Internal: vmath's AVX2 + FMA lane policy (vmath_impl.hpp), in a header so that the GEMM family's
// kernels of the same ISA can apply an activation to a vector still in registers (the skinny
// linear's tanh epilogue) with exactly the code vmath_avx2.cpp runs over arrays. Include it only
// from translation units compiled with -mavx2 -mfma (*_avx2.cpp): its inline functions
// must be compiled the same way wherever they are used.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "vmath_impl.hpp"

namespace affine::detail::vmath {

alignas(32) constexpr int32_t kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                               0,  0,  0,  0,  0,  0,  0,  0};

struct Avx2 {
  using V = __m256;
  using I = __m256i;
  using M = __m256;
  static constexpr int W = 8;
  static constexpr bool kFusedFma = true;  // fma(a, b, c) rounds once
  static __m256i mask(int64_t n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - n));
  }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V loadn(const float* p, int64_t n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void storen(float* p, V v, int64_t n) { _mm256_maskstore_ps(p, mask(n), v); }
  static V set(float v) { return _mm256_set1_ps(v); }
  static I seti(int32_t v) { return _mm256_set1_epi32(v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // max/min return their second operand when either is NaN, so x goes second, then first.
  static V clamp(V x, V lo, V hi) { return _mm256_min_ps(hi, _mm256_max_ps(lo, x)); }
  static V clamp_hi(V x, V hi) { return _mm256_min_ps(hi, x); }
  static V abs(V x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static V orsign(V x, V s) { return _mm256_or_ps(x, _mm256_and_ps(s, _mm256_set1_ps(-0.0f))); }
  static V copysign(V x, V s) {
    const V sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, x), _mm256_and_ps(s, sign));
  }
  // The exponent field of 2^(n+1) plus 256 << 23, which is the sign bit.
  static V minus2_pow2(V, I n) { return as_float(shl<23>(iadd(n, seti(128 + 256)))); }
  static I as_int(V x) { return _mm256_castps_si256(x); }
  static V as_float(I i) { return _mm256_castsi256_ps(i); }
  static V cvt(I i) { return _mm256_cvtepi32_ps(i); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  template <int K>
  static I sra(I a) {
    return _mm256_srai_epi32(a, K);
  }
  template <int K>
  static I shl(I a) {
    return _mm256_slli_epi32(a, K);
  }
  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
  // As the portable version: two exact power-of-two factors, one final rounding.
  static V ldexp(V p, V, I n) {
    const I n1 = sra<1>(n);
    const I n2 = isub(n, n1);
    const V s1 = as_float(shl<23>(iadd(n1, seti(127))));
    const V s2 = as_float(shl<23>(iadd(n2, seti(127))));
    return mul(mul(p, s1), s2);
  }
};

}  // namespace affine::detail::vmath
