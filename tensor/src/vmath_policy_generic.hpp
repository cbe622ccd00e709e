// Internal: vmath's portable (one float) lane policy (vmath_impl.hpp), in a header so that the GEMM
// family's kernels of the same ISA can apply an activation to a vector still in registers (the
// skinny linear's tanh epilogue) with exactly the code vmath_generic.cpp runs over arrays. Include
// it only from translation units compiled with the baseline flags (files without an ISA suffix):
// its inline functions must be compiled the same way wherever they are used.
#pragma once

#include <bit>
#include <cstdint>

#include "vmath_impl.hpp"

namespace affine::detail::vmath {

struct Scalar {
  using V = float;
  using I = int32_t;
  using M = bool;
  static constexpr int W = 1;
  static constexpr bool kFusedFma = false;  // fma(a, b, c) rounds once
  static V set(float v) { return v; }
  static I seti(int32_t v) { return v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  // Two roundings: baseline x86-64 has no FMA instruction, and std::fma would be a libm call
  // per element. The accuracy test measures this variant separately.
  static V fma(V a, V b, V c) { return a * b + c; }
  // A NaN x fails both compares and comes out unchanged.
  static V clamp(V x, V lo, V hi) {
    const V y = select(x < lo, lo, x);
    return select(y > hi, hi, y);
  }
  static V clamp_hi(V x, V hi) { return select(x > hi, hi, x); }
  static V abs(V x) { return std::bit_cast<V>(std::bit_cast<uint32_t>(x) & 0x7FFFFFFFu); }
  static V orsign(V x, V s) {
    return std::bit_cast<V>(std::bit_cast<uint32_t>(x) |
                            (std::bit_cast<uint32_t>(s) & 0x80000000u));
  }
  static V copysign(V x, V s) {
    return std::bit_cast<V>((std::bit_cast<uint32_t>(x) & 0x7FFFFFFFu) |
                            (std::bit_cast<uint32_t>(s) & 0x80000000u));
  }
  // The exponent field of 2^(n+1) plus 256 << 23, which is the sign bit.
  static V minus2_pow2(V, I n) { return as_float(shl<23>(iadd(n, 128 + 256))); }
  static I as_int(V x) { return std::bit_cast<I>(x); }
  static V as_float(I i) { return std::bit_cast<V>(i); }
  static V cvt(I i) { return static_cast<V>(i); }
  // Integer lanes wrap like the SIMD versions (NaN inputs produce garbage exponents that the
  // selects discard); going through uint32_t keeps that defined behaviour in C++.
  static I iadd(I a, I b) {
    return static_cast<I>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
  }
  static I isub(I a, I b) {
    return static_cast<I>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
  }
  template <int K>
  static I sra(I a) {
    return a >> K;  // arithmetic since C++20
  }
  template <int K>
  static I shl(I a) {
    return static_cast<I>(static_cast<uint32_t>(a) << K);
  }
  static M lt(V a, V b) { return a < b; }
  static M ge(V a, V b) { return a >= b; }
  static M eq(V a, V b) { return a == b; }
  // Bitwise, not `m ? a : b`: under the default -ftrapping-math GCC 12 will not if-convert a
  // floating-point ?: whose condition is a float compare, and the whole loop then stays scalar.
  // The mask form is what cmpps + and/andn/or do anyway.
  static V select(M m, V a, V b) {
    const uint32_t k = 0u - static_cast<uint32_t>(m);
    return std::bit_cast<V>((std::bit_cast<uint32_t>(a) & k) | (std::bit_cast<uint32_t>(b) & ~k));
  }
  // p * 2^n in two exact-or-final steps: 2^(n/2) and 2^(n - n/2) are both normal floats for n
  // in [-150, 128], p * 2^(n/2) stays normal, so only the second product rounds (to a denormal,
  // to +inf, or normally).
  static V ldexp(V p, V, I n) {
    const I n1 = sra<1>(n);
    const I n2 = isub(n, n1);
    const V s1 = as_float(shl<23>(iadd(n1, 127)));
    const V s2 = as_float(shl<23>(iadd(n2, 127)));
    return p * s1 * s2;
  }
};

}  // namespace affine::detail::vmath
