// Internal: the one source of the float32 exp / log / log1p / tanh / sigmoid algorithms, written
// against a small "lane operations" policy S so that vmath_generic.cpp (S = one float, which
// g++/clang auto-vectorise), vmath_avx2.cpp (S = __m256) and vmath_avx512.cpp (S = __m512) run
// the same reductions, the same polynomials and the same special-case logic. They differ only
// where an ISA lacks fused multiply-add (the portable build rounds a*b+c twice) and in how
// exp's final scaling by 2^n is done (same exact product, one rounding, either way).
//
// Every function is branch-free: special inputs (NaN, +-inf, 0, overflow, underflow,
// denormals) are handled by clamping and selects, so a vector of mixed inputs needs no fallback.
// No step relies on the FP environment: nothing traps, and with the default rounding mode and
// no FTZ/DAZ the results are the same on every x86-64 for a given ISA.
//
// Policy S (vmath_policy_<isa>.hpp, also used by the GEMM family's kernels of that ISA to apply
// tanh in registers) provides (V: floats, I: int32 lanes, M: lane mask):
//   W                    lanes per V (1 for the portable policy)
//   kFusedFma            true when fma(a, b, c) rounds once (tanh's one-step reduction needs it)
//   set(float), seti(int32)
//   add sub mul div; fma(a, b, c) = a*b + c (fused where the ISA has it)
//   clamp(x, lo, hi)     NaN in, NaN out; clamp_hi(x, hi) = min(x, hi), NaN in, NaN out
//   abs(x), orsign(x, s) = x | (sign bit of s), copysign(x, s) = |x| with the sign bit of s
//   minus2_pow2(nf, ni)  -2 * 2^n exactly for n in [-127, 126] given as float (nf) and int32 (ni)
//   as_int, as_float     bit casts; cvt(I) int32 -> float
//   iadd isub (wrapping), sra<k> (arithmetic), shl<k>
//   lt ge eq (ordered compares), select(m, a, b) = m ? a : b
//   ldexp(p, nf, ni)     p * 2^n for float p in [0.5, 2] and n in [-150, 128] given both as float
//                        (nf) and int32 (ni); exact product, one rounding
//   load store, loadn storen (first n lanes; the rest of the vector is not touched)
#pragma once

#include <cstdint>
#include <limits>

#include "vmath.hpp"

namespace affine::detail::vmath::impl {

// ---- constants ------------------------------------------------------------------------------

inline constexpr float kLog2e = 0x1.715476p+0f;
// Cody-Waite split of ln 2: kLn2Hi has 9 significant bits, so n * kLn2Hi is exact for |n| < 2^15
// (exp needs |n| <= 150, log |e| <= 149) and x - n * kLn2Hi is exact (Sterbenz) whenever
// |x - n ln2| <= ln2/2. kLn2Lo is the float nearest ln 2 - kLn2Hi; the remaining 1.6e-12 gives a
// relative error below 3e-10 for |n| <= 150.
inline constexpr float kLn2Hi = 0x1.63p-1f;        // 0.693359375
inline constexpr float kLn2Lo = -0x1.bd0106p-13f;  // -2.12194440e-4
// ln 2 rounded to float (1.9e-9 above it), for tanh's one-step reduction.
inline constexpr float kLn2F = 0x1.62e430p-1f;
// Adding 1.5 * 2^23 to |t| < 2^22 rounds t to an integer (round to nearest even, in the FPU's
// current mode) and leaves that integer in the low mantissa bits: one add gives both round(t) as
// a float and, by subtracting the bit patterns, as an int32. No float -> int conversion, so a NaN
// or huge input can never hit the undefined behaviour of an out-of-range C++ cast.
inline constexpr float kShifter = 0x1.8p23f;
inline constexpr int32_t kShifterBits = 0x4B400000;
inline constexpr int32_t kSignBit = static_cast<int32_t>(0x80000000u);
inline constexpr int32_t kSqrtHalfBits = 0x3F3504F3;  // 0.70710677f, the float nearest sqrt(1/2)

// expm1(r) = r + r^2 * P(r) on |r| <= ln2/2 + 1e-4: P of degree 4, weighted minimax for the
// relative error of expm1, coefficients rounded to float32 one by one with refitting
// (tools/fit_vmath.py; the fit's own error is 1.7e-8 relative, 0.15 ulp). The same polynomial
// gives exp(r) = 1 + expm1(r).
inline constexpr float kExpP0 = 0x1p-1f;          // 0.5 (exactly, after refitting)
inline constexpr float kExpP1 = 0x1.555494p-3f;   // 0.16666523
inline constexpr float kExpP2 = 0x1.555464p-5f;   // 0.041666217
inline constexpr float kExpP3 = 0x1.1236e8p-7f;   // 0.008368362
inline constexpr float kExpP4 = 0x1.6dbe12p-10f;  // 0.0013951968

// log1p(f) = f - f^2/2 + f^3 * L(f) on f in [sqrt(1/2) - 1, sqrt(2) - 1]: L of degree 7,
// weighted minimax for the relative error of log1p, same fitting procedure (fit error 1.3e-8
// relative, 0.11 ulp).
inline constexpr float kLogL0 = 0x1.555554p-2f;   // 0.3333333
inline constexpr float kLogL1 = -0x1.0001dep-2f;  // -0.25000712
inline constexpr float kLogL2 = 0x1.999c62p-3f;   // 0.20000531
inline constexpr float kLogL3 = -0x1.547caep-3f;  // -0.16625343
inline constexpr float kLogL4 = 0x1.23450cp-3f;   // 0.14222154
inline constexpr float kLogL5 = -0x1.0dc08ap-3f;  // -0.1317149
inline constexpr float kLogL6 = 0x1.029eb2p-3f;   // 0.12627925
inline constexpr float kLogL7 = -0x1.303706p-4f;  // -0.074271224

// exp overflows float for x > ln(FLT_MAX) = 88.72284 and rounds to 0 below ln(2^-150) = -103.97;
// clamping to [-104, 89] keeps n in [-150, 128] (what ldexp accepts) while still letting the
// arithmetic itself produce +inf and 0 (and every denormal in between).
inline constexpr float kExpLo = -104.0f;
inline constexpr float kExpHi = 89.0f;
// tanh(x) rounds to 1.0f for |x| >= 9.0109; beyond 10, expm1(-2|x|) rounds to -1 and the
// formula below gives exactly 1, so clamping there changes no result and bounds n.
inline constexpr float kTanhClamp = 10.0f;
inline constexpr float kMinNormal = 0x1p-126f;

// ---- shared pieces --------------------------------------------------------------------------

/// Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2 (+ a few ulps when round(x log2e) lands on
/// the other side of a tie). Returns r; nf and ni are n as float and int32. |x| < 2^21.
template <class S>
inline typename S::V reduce_ln2(typename S::V x, typename S::V& nf, typename S::I& ni) {
  using V = typename S::V;
  const V t = S::fma(x, S::set(kLog2e), S::set(kShifter));
  nf = S::sub(t, S::set(kShifter));
  ni = S::isub(S::as_int(t), S::seti(kShifterBits));
  V r = S::fma(nf, S::set(-kLn2Hi), x);
  r = S::fma(nf, S::set(-kLn2Lo), r);
  return r;
}

/// expm1(r) for |r| <= ln2/2 via the fitted polynomial; relative error ~1 ulp, exact r for
/// tiny r (r^2 * P underflows or vanishes against r).
template <class S>
inline typename S::V expm1_reduced(typename S::V r) {
  using V = typename S::V;
  V p = S::fma(S::set(kExpP4), r, S::set(kExpP3));
  p = S::fma(p, r, S::set(kExpP2));
  p = S::fma(p, r, S::set(kExpP1));
  p = S::fma(p, r, S::set(kExpP0));
  return S::fma(S::mul(r, r), p, r);
}

// ---- exp ------------------------------------------------------------------------------------

template <class S>
inline typename S::V exp(typename S::V x) {
  using V = typename S::V;
  using I = typename S::I;
  x = S::clamp(x, S::set(kExpLo), S::set(kExpHi));
  V nf;
  I ni;
  const V r = reduce_ln2<S>(x, nf, ni);
  // 1 + expm1(r) rather than a polynomial for exp(r) directly: the small part is rounded at
  // its own scale first, so the final add contributes the only large rounding.
  const V e = S::add(expm1_reduced<S>(r), S::set(1.0f));
  return S::ldexp(e, nf, ni);
}

// ---- log ------------------------------------------------------------------------------------

/// log(x) for x > 0 finite (denormals included); anything else gives an unspecified finite or
/// NaN value that the callers replace.
template <class S>
inline typename S::V log_positive(typename S::V x) {
  using V = typename S::V;
  using I = typename S::I;
  // Denormals: scale into the normal range first, then take the 23 back from the exponent.
  const auto tiny = S::lt(x, S::set(kMinNormal));
  x = S::select(tiny, S::mul(x, S::set(0x1p23f)), x);
  const V eadj = S::select(tiny, S::set(-23.0f), S::set(0.0f));
  // x = 2^k * m with m in [sqrt(1/2), sqrt(2)): subtracting sqrt(1/2)'s bit pattern before
  // taking the exponent field moves the split point from 1 to sqrt(1/2), so f = m - 1 (exact,
  // Sterbenz) is centred on 0 and |f| <= 0.415 keeps the polynomial short.
  const I xi = S::as_int(x);
  const I k = S::template sra<23>(S::isub(xi, S::seti(kSqrtHalfBits)));
  const V m = S::as_float(S::isub(xi, S::template shl<23>(k)));
  const V f = S::sub(m, S::set(1.0f));
  const V e = S::add(S::cvt(k), eadj);

  V l = S::fma(S::set(kLogL7), f, S::set(kLogL6));
  l = S::fma(l, f, S::set(kLogL5));
  l = S::fma(l, f, S::set(kLogL4));
  l = S::fma(l, f, S::set(kLogL3));
  l = S::fma(l, f, S::set(kLogL2));
  l = S::fma(l, f, S::set(kLogL1));
  l = S::fma(l, f, S::set(kLogL0));
  // f - f^2/2 + f^3 L = f + f^2 (f L - 1/2): the correction to f is at most a quarter of the
  // result, so its rounding errors are shrunk accordingly in the final add.
  const V p = S::add(f, S::mul(S::mul(f, f), S::fma(f, l, S::set(-0.5f))));
  // e ln2 + p with e * kLn2Hi exact: the only large rounding is the last add.
  return S::fma(e, S::set(kLn2Hi), S::fma(e, S::set(kLn2Lo), p));
}

/// The IEEE special cases of log, selected over `r` computed for the same input u.
template <class S>
inline typename S::V log_specials(typename S::V u, typename S::V r) {
  const float inf = std::numeric_limits<float>::infinity();
  r = S::select(S::eq(u, S::set(inf)), S::set(inf), r);
  r = S::select(S::eq(u, S::set(0.0f)), S::set(-inf), r);
  // Negative or NaN (the ordered compare is false for NaN).
  return S::select(S::ge(u, S::set(0.0f)), r, S::set(std::numeric_limits<float>::quiet_NaN()));
}

template <class S>
inline typename S::V log(typename S::V x) {
  return log_specials<S>(x, log_positive<S>(x));
}

/// log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the second term is the first
/// order correction for the rounding of u (u - 1 and x - (u - 1) are exact for u in
/// [0.5, 2^24]), so small x keep full relative accuracy: for |x| < 2^-24, u = 1 and the result
/// is x itself.
template <class S>
inline typename S::V log1p(typename S::V x) {
  using V = typename S::V;
  const V one = S::set(1.0f);
  const V u = S::add(x, one);
  const V corr = S::div(S::sub(x, S::sub(u, one)), u);
  V r = S::add(log_positive<S>(u), corr);
  r = log_specials<S>(u, r);
  // log1p(-0) = -0 (the sum above would give +0).
  return S::select(S::eq(x, S::set(0.0f)), x, r);
}

// ---- tanh -----------------------------------------------------------------------------------

// tanh's expm1 works on rho = -r / 2 instead of r, which saves the multiplication y = -2|x|:
// Q(rho) = -2 P(-2 rho), i.e. Q_k = (-2)^(k+1) P_k (exact powers of two), so each Horner step,
// rho * rho and the final fma are the ones on r scaled by a power of two and round the same:
// rho + rho^2 Q(rho) = expm1(r) / -2 bit for bit.
inline constexpr float kTanhQ0 = -2 * kExpP0;
inline constexpr float kTanhQ1 = 4 * kExpP1;
inline constexpr float kTanhQ2 = -8 * kExpP2;
inline constexpr float kTanhQ3 = 16 * kExpP3;
inline constexpr float kTanhQ4 = -32 * kExpP4;

/// tanh |x| = -expm1(-2|x|) / (2 + expm1(-2|x|)). One formula for all x: expm1 keeps full
/// relative accuracy near 0 (where 1 - 2/(e^2x + 1) would cancel), and for large |x| the ratio
/// rounds to exactly 1. The sign is copied from x, so tanh(-x) = -tanh(x) bit for bit.
template <class S>
inline typename S::V tanh(typename S::V x) {
  using V = typename S::V;
  // |x| >= 0 already: only the upper clamp is needed (and it keeps NaN).
  const V a = S::clamp_hi(S::abs(x), S::set(kTanhClamp));
  // reduce_ln2 of y = -2a (n in [-29, 0]) written on a: the same n, and rho = -r / 2.
  const V t = S::fma(a, S::set(-2 * kLog2e), S::set(kShifter));
  const V nf = S::sub(t, S::set(kShifter));
  const typename S::I ni = S::isub(S::as_int(t), S::seti(kShifterBits));
  V rho;
  if constexpr (S::kFusedFma) {
    // One step, a + n (ln2 rounded to float) / 2 rounded once: that ln2 is 1.9e-9 off, which
    // moves rho by at most 29 * 1e-9, and only where n != 0, where 2^n shrinks what it moves in
    // the result (under 0.1 ulp): the exhaustive test finds the same worst case, 2 ulp at
    // |x| ~ 0.015 (n = 0, rho = a exactly). The loop is bound by its vector operations about as
    // much as by the divider, so dropping one of ~20 made it 12% faster on Sapphire Rapids.
    rho = S::fma(nf, S::set(kLn2F / 2), a);
  } else {
    // Without a fused multiply-add n ln2 would be rounded before the add (3 ulp at x = 4.5):
    // Cody-Waite's two steps, a + n ln2hi / 2 exact as y - n ln2hi is, then the ln2lo step.
    rho = S::fma(nf, S::set(kLn2Hi / 2), a);
    rho = S::fma(nf, S::set(kLn2Lo / 2), rho);
  }
  V q = S::fma(S::set(kTanhQ4), rho, S::set(kTanhQ3));
  q = S::fma(q, rho, S::set(kTanhQ2));
  q = S::fma(q, rho, S::set(kTanhQ1));
  q = S::fma(q, rho, S::set(kTanhQ0));
  const V e = S::fma(S::mul(rho, rho), q, rho);  // expm1(r) / -2
  // expm1(y) = 2^n expm1(r) + (2^n - 1) = (-2 * 2^n) e + (2^n - 1); 2^n is a normal float and
  // 2^n - 1 is exact for n >= -24 (rounds harmlessly to -1 below); -0.5 (-2 * 2^n) is exact.
  const V s2 = S::minus2_pow2(nf, ni);
  const V u = S::fma(s2, e, S::fma(s2, S::set(-0.5f), S::set(-1.0f)));
  // -u / (2 + u) computed as u / (-2 - u): the same magnitude bit for bit (negating is exact
  // and round-to-nearest is symmetric), one operation fewer; copysign then gives the result the
  // sign of x whatever the sign of the quotient (u = +0 makes it -0).
  const V tq = S::div(u, S::sub(S::set(-2.0f), u));
  return S::copysign(tq, x);
}

// ---- sigmoid --------------------------------------------------------------------------------

/// sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, with e = exp(-|x|) in
/// [0, 1]: nothing overflows for any x, and for very negative x the result is e itself (1 + e
/// rounds to 1), so tiny results keep exp's relative accuracy down to the denormals.
template <class S>
inline typename S::V sigmoid(typename S::V x) {
  using V = typename S::V;
  const V e = exp<S>(S::orsign(x, S::set(-1.0f)));  // -|x|
  const V one = S::set(1.0f);
  const V num = S::select(S::ge(x, S::set(0.0f)), one, e);
  return S::div(num, S::add(one, e));
}

// ---- array drivers --------------------------------------------------------------------------

/// out[i] = F(x[i]) for i < n. `out == x` is allowed (each vector is loaded before it is
/// stored); partial overlap is not. The last n % W elements go through one masked vector, so
/// nothing past x + n is read or out + n written.
template <class S, typename S::V (*F)(typename S::V)>
void apply(const float* x, float* out, int64_t n) {
  if constexpr (S::W == 1) {
    // The portable policy: a plain loop over branch-free scalar code, which the compiler
    // vectorises at the baseline ISA (SSE2 on x86-64) with a scalar remainder.
    for (int64_t i = 0; i < n; ++i) out[i] = F(x[i]);
  } else {
    int64_t i = 0;
    // Two vectors per iteration: two independent dependency chains through the polynomial
    // and the divide keep both FMA pipes busy.
    for (; i + 2 * S::W <= n; i += 2 * S::W) {
      const auto a = F(S::load(x + i));
      const auto b = F(S::load(x + i + S::W));
      S::store(out + i, a);
      S::store(out + i + S::W, b);
    }
    for (; i + S::W <= n; i += S::W) S::store(out + i, F(S::load(x + i)));
    if (i < n) S::storen(out + i, F(S::loadn(x + i, n - i)), n - i);
  }
}

// ---- backward from the output ---------------------------------------------------------------

/// tanh'(x) g = g (1 - y^2) with y = tanh(x).
template <class S>
inline typename S::V tanh_backward(typename S::V g, typename S::V y) {
  return S::mul(g, S::sub(S::set(1.0f), S::mul(y, y)));
}

/// sigmoid'(x) g = g y (1 - y) with y = sigmoid(x).
template <class S>
inline typename S::V sigmoid_backward(typename S::V g, typename S::V y) {
  return S::mul(S::mul(g, y), S::sub(S::set(1.0f), y));
}

/// out[i] = F(g[i], y[i]) for i < n; out == g is allowed (loads precede the store).
template <class S, typename S::V (*F)(typename S::V, typename S::V)>
void apply2(const float* g, const float* y, float* out, int64_t n) {
  if constexpr (S::W == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = F(g[i], y[i]);
  } else {
    int64_t i = 0;
    for (; i + S::W <= n; i += S::W) S::store(out + i, F(S::load(g + i), S::load(y + i)));
    if (i < n) S::storen(out + i, F(S::loadn(g + i, n - i), S::loadn(y + i, n - i)), n - i);
  }
}

/// The Table of vmath.hpp for policy S.
template <class S>
Table make_table() {
  return Table{&apply<S, exp<S>>,
               &apply<S, log<S>>,
               &apply<S, log1p<S>>,
               &apply<S, tanh<S>>,
               &apply<S, sigmoid<S>>,
               &apply2<S, tanh_backward<S>>,
               &apply2<S, sigmoid_backward<S>>};
}

}  // namespace affine::detail::vmath::impl
