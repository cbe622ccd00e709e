// Portable kernels: plain C++ that the compiler vectorises at whatever baseline it targets
// (SSE2 on x86-64, NEON on AArch64). A "vector" is a struct of W elements; the fixed-trip loops
// over its lanes are what the auto-vectoriser turns into SIMD instructions.
//
// Micro-kernel 6 x 8 floats (6 x 4 doubles): 6 rows x 8 lanes = 12 SSE registers of
// accumulators plus B and a broadcast, which fits the 16 registers of baseline x86-64.
// No fused multiply-add: fma(a, b, c) is a * b + c, rounded twice, identically everywhere.
#include "kernel_impl.hpp"
#include "vmath_policy_generic.hpp"

namespace affine::detail::gemm {
namespace {

template <class T_, int W_>
struct Portable {
  using T = T_;
  static constexpr int W = W_;
  struct V {
    T v[W_];
  };
  static V zero() {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = T(0);
    return r;
  }
  static V load(const T* p) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = p[l];
    return r;
  }
  static V loadn(const T* p, int64_t n) {
    V r = zero();
    for (int64_t l = 0; l < n; ++l) r.v[l] = p[l];
    return r;
  }
  static void store(T* p, V v) {
    for (int l = 0; l < W; ++l) p[l] = v.v[l];
  }
  static void storen(T* p, V v, int64_t n) {
    for (int64_t l = 0; l < n; ++l) p[l] = v.v[l];
  }
  static V bcast(T x) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = x;
    return r;
  }
  static V fma(V a, V b, V c) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] * b.v[l] + c.v[l];
    return r;
  }
  static V mul(V a, V b) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] * b.v[l];
    return r;
  }
  static V add(V a, V b) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] + b.v[l];
    return r;
  }
  static T hsum(V v) {
    T s = T(0);
    for (int l = 0; l < W; ++l) s += v.v[l];
    return s;
  }
  static T fma1(T a, T b, T c) { return a * b + c; }
};

struct FPortable : Portable<float, 8> {
  static constexpr int MR = 6, NV = 1;
  static constexpr int PREFETCH = 0;
  static constexpr int RB_R = 4, RB_NV = 2, RB_REGS = 7, RB_NV_DEEP = 1;
  static constexpr int DOT_R = 2, DOT_C = 2;
  // vmath's portable tanh lane by lane (the same scalar code as its array loop, so the same bits).
  static V tanh(V x) {
    for (int l = 0; l < W; ++l) x.v[l] = vmath::impl::tanh<vmath::Scalar>(x.v[l]);
    return x;
  }
};

struct DPortable : Portable<double, 4> {
  static constexpr int MR = 6, NV = 1;
  static constexpr int PREFETCH = 0;
  static constexpr int RB_R = 4, RB_NV = 2, RB_REGS = 7, RB_NV_DEEP = 1;
  static constexpr int DOT_R = 2, DOT_C = 2;
};

}  // namespace

const IsaKernels& kernels_generic() {
  static const IsaKernels k{impl::make_kernels<FPortable>(), impl::make_kernels<DPortable>()};
  return k;
}

}  // namespace affine::detail::gemm
