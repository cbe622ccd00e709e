// Internal: vectorised float32 exp, log, log1p, tanh and sigmoid over arrays (issue 7), and the
// backward of tanh and sigmoid from their output, beside them.
//
// The float32 elementwise ops (elementwise.cpp) route through these; float64 keeps the std::
// functions, since gradcheck compares against float64 and needs their full accuracy.
//
// One algorithm (vmath_impl.hpp), compiled three times: vmath_generic.cpp (portable C++ the
// compiler vectorises at baseline SSE2), vmath_avx2.cpp (AVX2 + FMA) and vmath_avx512.cpp
// (AVX-512F). active() picks one from affine::active_isa() once (AFFINE_ISA=avx512|avx2|generic
// forces it), like the GEMM kernels. Results differ between ISAs only by the roundings an FMA
// saves, never by more than the bounds below.
//
// Algorithms (coefficients: tools/fit_vmath.py, weighted minimax fits for relative error):
//   exp      Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2; exp(r) = 1 + r + r^2 P4(r);
//            result scaled by 2^n in two exact steps so the only rounding is the final one.
//   log      x = 2^k m, m in [sqrt(1/2), sqrt(2)); log1p(m - 1) = f - f^2/2 + f^3 L7(f).
//   log1p    log(1 + x) plus the first-order correction (x - (u - 1)) / u for the rounding of
//            u = 1 + x.
//   tanh     -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x; expm1 from the same P4.
//            With a fused multiply-add the reduction is one step (ln 2 rounded to float, see
//            vmath_impl.hpp; same worst case). The quotient is a true division: on AVX-512
//            (Sapphire Rapids) the loop is bound about equally by its ~20 vector operations on
//            two ports and by vdivps; a reciprocal estimate plus a Newton step and a residual
//            correction (6 operations for the division's 3) measured 15% slower, while the
//            one-step reduction (one operation fewer) made it 12% faster.
//   sigmoid  e = exp(-|x|); 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0.
//
// Accuracy: maximum error in ulps of the result, against the float64 std:: function rounded to
// float32 (so a correctly rounded result scores 0, and 1 means "one float away"). Measured by
// tests/vmath_test.cpp on every variant: every 97th float32 bit pattern over the whole line plus
// per-function dense sweeps (every few patterns over the active range, every pattern in windows
// around 0, 1, the saturation/overflow/underflow thresholds and the denormal boundary); the test
// asserts the "bound" column. "exhaustive" is the DISABLED_Exhaustive test (all 2^32 inputs).
//
//   function  generic  avx2  avx512  bound  worst case found
//   exp          1       1      1      1    exhaustive (e.g. x = 2^-24: a tie broken the other way)
//   log          1       1      1      1    exhaustive
//   log1p        1       1      1      1    exhaustive
//   tanh         2       2      2      2    exhaustive (|x| ~ 0.015: 2 + u rounds, then divides)
//   sigmoid      2       2      2      2    exhaustive (x ~ -1.1: exp, 1 + e and the divide)
//
// Special values (checked exactly by the test):
//   exp:     NaN -> NaN; +inf and x > 88.7228 -> +inf; -inf and x < -103.98 -> +0; results
//            between 2^-149 and 2^-126 are the correctly scaled denormals (gradual underflow,
//            not flushed), rounded once.
//   log:     NaN -> NaN; x < 0 (and -inf) -> NaN; +-0 -> -inf; +inf -> +inf; denormal x
//            handled exactly as the normal numbers (rescaled by 2^23 first); log(1) = +0.
//   log1p:   NaN -> NaN; x < -1 -> NaN; -1 -> -inf; +inf -> +inf; +-0 -> +-0; |x| < 2^-24 -> x.
//   tanh:    NaN -> NaN; +-0 -> +-0; |x| >= 9.0109 (incl. inf) -> exactly +-1; tiny and
//            denormal x -> x; tanh(-x) == -tanh(x) bit for bit.
//   sigmoid: NaN -> NaN; finite for every x (no inf/NaN at +-1e4 or +-inf); sigmoid(0) = 0.5;
//            x >= 17.33 -> exactly 1; x < -103.98 -> +0, denormal results in between.
// Speed (bench/vmath_bench, one thread, Zen 4 class EPYC, one run on a loaded shared machine),
// ns per element for std:: / generic / avx2 / avx512 at 100,000 elements:
//   exp 3.30 / 1.34 / 0.33 / 0.17   log 3.56 / 1.82 / 0.49 / 0.35   log1p 10.4 / 2.09 / 0.65 / 0.44
//   tanh 14.9 / 1.63 / 0.43 / 0.31  sigmoid 8.25 / 1.65 / 0.46 / 0.28
// i.e. AVX-512 tanh ~48x and sigmoid ~29x std:: (44x and 26x at 10M elements, in DRAM).
// None of this depends on the MXCSR flush-to-zero / denormals-are-zero bits being clear, except
// that with them set denormal inputs and results are flushed as the hardware does.
#pragma once

#include <cstdint>

#include "affine/tensor/parallel.hpp"

namespace affine::detail::vmath {

/// out[i] = f(x[i]) for i < n (n >= 0). out == x is allowed; other overlap is not. No alignment
/// is required, and nothing outside [x, x + n) and [out, out + n) is touched.
using UnaryF32 = void (*)(const float* x, float* out, int64_t n);

/// out[i] = the input gradient of an activation from g[i] (the output gradient) and y[i] (its
/// output), for i < n. out == g is allowed; other overlap is not.
using BackwardF32 = void (*)(const float* g, const float* y, float* out, int64_t n);

/// One ISA's implementations.
struct Table {
  UnaryF32 exp;
  UnaryF32 log;
  UnaryF32 log1p;
  UnaryF32 tanh;
  UnaryF32 sigmoid;
  BackwardF32 tanh_backward;     ///< g * (1 - y^2)
  BackwardF32 sigmoid_backward;  ///< g * y * (1 - y)
};

/// Portable version (always available).
const Table& table_generic();
#if defined(__x86_64__) || defined(_M_X64)
/// These may only be called when detail::cpu_supports(Isa::avx2 / Isa::avx512) (cpu.hpp).
const Table& table_avx2();
const Table& table_avx512();
#endif

/// The table for active_isa(), chosen on first use.
const Table& active();

}  // namespace affine::detail::vmath
