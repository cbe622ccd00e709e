// Internal: vmath's AVX-512 lane policy (vmath_impl.hpp), in a header so that the GEMM family's
// kernels of the same ISA can apply an activation to a vector still in registers (the skinny
// linear's tanh epilogue) with exactly the code vmath_avx512.cpp runs over arrays. Include it only
// from translation units compiled with the AVX-512 flags (*_avx512.cpp): its inline functions
// must be compiled the same way wherever they are used.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "vmath_impl.hpp"

namespace affine::detail::vmath {

struct Avx512 {
  using V = __m512;
  using I = __m512i;
  using M = __mmask16;
  static constexpr int W = 16;
  static constexpr bool kFusedFma = true;  // fma(a, b, c) rounds once
  static constexpr __mmask16 kAll = 0xFFFF;
  static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V loadn(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void storen(float* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static V set(float v) { return _mm512_set1_ps(v); }
  static I seti(int32_t v) { return _mm512_set1_epi32(v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // max/min return their second operand when either is NaN, so x goes second, then first.
  // The maskz forms with a full mask, here and below, are the plain instructions: the unmasked
  // intrinsics trip GCC 12's -Wmaybe-uninitialized inside <immintrin.h> (_mm512_undefined_ps).
  static V clamp(V x, V lo, V hi) {
    return _mm512_maskz_min_ps(kAll, hi, _mm512_maskz_max_ps(kAll, lo, x));
  }
  static V clamp_hi(V x, V hi) { return _mm512_maskz_min_ps(kAll, hi, x); }
  static V abs(V x) { return as_float(_mm512_and_epi32(as_int(x), seti(0x7FFFFFFF))); }
  static V orsign(V x, V s) {
    return as_float(_mm512_ternarylogic_epi32(as_int(x), as_int(s), seti(impl::kSignBit),
                                              0xF8));  // x | (s & sign)
  }
  static V copysign(V x, V s) {
    return as_float(_mm512_ternarylogic_epi32(seti(impl::kSignBit), as_int(s), as_int(x),
                                              0xCA));  // sign ? s : x, bit by bit
  }
  // One vscalefps instead of building the exponent field (and sign) with an add and a shift.
  static V minus2_pow2(V nf, I) { return _mm512_maskz_scalef_ps(kAll, set(-2.0f), nf); }
  static I as_int(V x) { return _mm512_castps_si512(x); }
  static V as_float(I i) { return _mm512_castsi512_ps(i); }
  static V cvt(I i) { return _mm512_maskz_cvtepi32_ps(kAll, i); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  template <int K>
  static I sra(I a) {
    return _mm512_maskz_srai_epi32(kAll, a, K);
  }
  template <int K>
  static I shl(I a) {
    return _mm512_maskz_slli_epi32(kAll, a, K);
  }
  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
  // vscalefps computes p * 2^n exactly and rounds once, with IEEE overflow and gradual
  // underflow: the same result as the two-step product of the other ISAs, in one instruction.
  static V ldexp(V p, V n, I) { return _mm512_maskz_scalef_ps(kAll, p, n); }
};

}  // namespace affine::detail::vmath
