// Accuracy, special values and tail handling of the vectorised float32 exp / log / log1p / tanh /
// sigmoid (tensor/src/vmath.hpp), for every ISA variant this CPU can run (called directly, not
// only through the dispatcher), plus the float32 tensor ops that route through them.
//
// Accuracy is measured against the float64 std:: function rounded to float32, as the distance
// in representable floats (ulps) between that and the variant's result: every 97th float32 bit
// pattern over the whole line, plus per-function dense sweeps (every few patterns over the
// interesting range, every pattern in windows around thresholds). The measured maxima are
// printed, and must stay within the bounds documented in vmath.hpp (Fn::bound below).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "affine/tensor/ops.hpp"
#include "affine/tensor/parallel.hpp"
#include "affine/tensor/tensor.hpp"
#include "cpu.hpp"
#include "sanitizer.hpp"
#include "vmath.hpp"

namespace {

using affine::detail::vmath::Table;
using affine::detail::vmath::UnaryF32;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Variant {
  const char* name;
  const Table* table;
};

// Every variant this CPU can run; the others are named on stdout as skipped.
std::vector<Variant> variants() {
  std::vector<Variant> v{{"generic", &affine::detail::vmath::table_generic()}};
#if defined(__x86_64__) || defined(_M_X64)
  if (affine::detail::cpu_supports(affine::Isa::avx2)) {
    v.push_back({"avx2", &affine::detail::vmath::table_avx2()});
  } else {
    std::printf("vmath: avx2 not supported by this CPU, skipped\n");
  }
  if (affine::detail::cpu_supports(affine::Isa::avx512)) {
    v.push_back({"avx512", &affine::detail::vmath::table_avx512()});
  } else {
    std::printf("vmath: avx512 not supported by this CPU, skipped\n");
  }
#endif
  return v;
}

double ref_sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

struct Fn {
  const char* name;
  UnaryF32 Table::*member;
  double (*ref)(double);
  int64_t bound;  // max ulps, as documented in vmath.hpp
};

// The documented bounds (vmath.hpp), for all ISAs.
const Fn kExp{"exp", &Table::exp, [](double x) { return std::exp(x); }, 1};
const Fn kLog{"log", &Table::log, [](double x) { return std::log(x); }, 1};
const Fn kLog1p{"log1p", &Table::log1p, [](double x) { return std::log1p(x); }, 1};
const Fn kTanh{"tanh", &Table::tanh, [](double x) { return std::tanh(x); }, 2};
const Fn kSigmoid{"sigmoid", &Table::sigmoid, ref_sigmoid, 2};

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
float from_bits(uint32_t b) { return std::bit_cast<float>(b); }

// Position of a float on the number line, counting representable floats; +0 and -0 coincide
// and +-inf sit one step past +-FLT_MAX.
int64_t ordinal(float x) {
  const uint32_t b = bits(x);
  const int64_t mag = b & 0x7FFFFFFFu;
  return (b & 0x80000000u) ? -mag : mag;
}

constexpr int64_t kNanMismatch = std::numeric_limits<int64_t>::max();

int64_t ulp_distance(float got, float want) {
  if (std::isnan(want) || std::isnan(got)) {
    return std::isnan(want) && std::isnan(got) ? 0 : kNanMismatch;
  }
  const int64_t d = ordinal(got) - ordinal(want);
  return d < 0 ? -d : d;
}

// A set of bit patterns: [first, last] (inclusive) in steps of `stride`.
struct Range {
  uint64_t first, last, stride;
};

Range every(uint64_t stride) { return {0, 0xFFFFFFFFu, stride}; }
// Magnitudes in [lo, hi] (both >= 0) with the sign of `sign`.
Range span(float lo, float hi, uint64_t stride, bool negative = false) {
  const uint64_t s = negative ? 0x80000000u : 0u;
  return {s | bits(lo), s | bits(hi), stride};
}
// Every pattern within `half` patterns of c (same sign as c; not crossing zero).
Range around(float c, uint64_t half) {
  const uint64_t b = bits(c);
  const uint64_t s = b & 0x80000000u;
  const uint64_t m = b & 0x7FFFFFFFu;
  const uint64_t lo = m > half ? m - half : 0;
  const uint64_t hi = std::min<uint64_t>(m + half, 0x7F800000u);
  return {s | lo, s | hi, 1};
}

struct Worst {
  int64_t ulp = 0;
  float x = 0, got = 0;
  double want = 0;
};

// Sweeps `ranges` for one function, evaluating the float64 reference once per chunk and every
// variant on the same inputs. Returns the worst case per variant.
std::vector<Worst> sweep(const Fn& fn, const std::vector<Range>& ranges,
                         const std::vector<Variant>& vs) {
  constexpr size_t kChunk = 1 << 16;
  std::vector<Worst> worst(vs.size());
  std::vector<float> x(kChunk), got(kChunk), want(kChunk);
  std::vector<double> want64(kChunk);
  for (const Range& r : ranges) {
    uint64_t b = r.first;
    while (b <= r.last) {
      size_t n = 0;
      for (; n < kChunk && b <= r.last; ++n, b += r.stride) x[n] = from_bits(uint32_t(b));
      for (size_t i = 0; i < n; ++i) {
        want64[i] = fn.ref(double(x[i]));
        want[i] = float(want64[i]);
      }
      for (size_t v = 0; v < vs.size(); ++v) {
        (vs[v].table->*fn.member)(x.data(), got.data(), int64_t(n));
        for (size_t i = 0; i < n; ++i) {
          const int64_t d = ulp_distance(got[i], want[i]);
          if (d > worst[v].ulp) worst[v] = {d, x[i], got[i], want64[i]};
        }
      }
    }
  }
  return worst;
}

void check_accuracy(const Fn& fn, const std::vector<Range>& dense) {
  const auto vs = variants();
  // Under ASan a sparser sweep (every 9,991st float): the sanitizer checks the same accesses, and
  // the Release run covers every 97th.
  const char* labels[] = {affine::test::kSanitized ? "every 9991st float" : "every 97th float",
                          "dense"};
  const std::vector<Range> sets[] = {{every(affine::test::kSanitized ? 9991 : 97)}, dense};
  for (int s = 0; s < 2; ++s) {
    const auto worst = sweep(fn, sets[s], vs);
    for (size_t v = 0; v < vs.size(); ++v) {
      const Worst& w = worst[v];
      std::printf("vmath %-7s %-6s %-16s max %lld ulp", fn.name, vs[v].name, labels[s],
                  static_cast<long long>(w.ulp));
      if (w.ulp > 0) std::printf(" at x = %.9g (got %.9g, want %.17g)", w.x, w.got, w.want);
      std::printf("\n");
      EXPECT_LE(w.ulp, fn.bound) << fn.name << " " << vs[v].name << " " << labels[s]
                                 << ": x = " << w.x << " got " << w.got << " want " << w.want;
    }
  }
}

// ---- accuracy -------------------------------------------------------------------------------

constexpr float kTiny = 0x1p-30f;  // below this every function is exact or x (checked too)

TEST(VmathAccuracy, Exp) {
  check_accuracy(kExp, {span(kTiny, 1, 29), span(kTiny, 1, 29, true), span(1, 104, 7),
                        span(1, 104, 7, true), around(88.7228394f, 1 << 16),
                        around(-87.3365479f, 1 << 16), around(-103.972076f, 1 << 16),
                        span(0, kTiny, 1 << 12), span(0, kTiny, 1 << 12, true)});
}

TEST(VmathAccuracy, Log) {
  check_accuracy(kLog,
                 {span(0, 0x1p-126f, 7), span(0x1p-126f, 3.4e38f, 61), span(0.5f, 2, 3),
                  around(1, 1 << 18), around(0x1p-126f, 1 << 16), around(0.70710677f, 1 << 16),
                  around(1.41421354f, 1 << 16), around(3.4e38f, 1 << 16)});
}

TEST(VmathAccuracy, Log1p) {
  check_accuracy(
      kLog1p, {span(kTiny, 1, 29), span(kTiny, 1, 29, true), span(1, 0x1p30f, 29),
               around(-1, 1 << 18), around(-0.29289323f, 1 << 16), around(0.41421354f, 1 << 16),
               around(0x1p24f, 1 << 16), span(0, kTiny, 1 << 12), span(0, kTiny, 1 << 12, true)});
}

TEST(VmathAccuracy, Tanh) {
  check_accuracy(kTanh, {span(kTiny, 12, 17), span(kTiny, 12, 17, true), around(9.0109f, 1 << 17),
                         around(-9.0109f, 1 << 17), around(0.55f, 1 << 16), around(10, 1 << 16),
                         span(0, kTiny, 1 << 12), span(0, kTiny, 1 << 12, true)});
}

TEST(VmathAccuracy, Sigmoid) {
  check_accuracy(kSigmoid,
                 {span(kTiny, 110, 17), span(kTiny, 110, 17, true), around(-87.3365479f, 1 << 16),
                  around(-103.972076f, 1 << 16), around(17.3286800f, 1 << 16),
                  span(0, kTiny, 1 << 12), span(0, kTiny, 1 << 12, true)});
}

// Every float32 input, for every variant and function: ~10 minutes, so not part of the regular
// run. The numbers in vmath.hpp come from it:
//   vmath_test --gtest_also_run_disabled_tests --gtest_filter='*Exhaustive*'
TEST(VmathAccuracy, DISABLED_Exhaustive) {
  const auto vs = variants();
  for (const Fn* fn : {&kExp, &kLog, &kLog1p, &kTanh, &kSigmoid}) {
    const auto worst = sweep(*fn, {every(1)}, vs);
    for (size_t v = 0; v < vs.size(); ++v) {
      const Worst& w = worst[v];
      std::printf("vmath %-7s %-6s all floats max %lld ulp at x = %.9g (got %.9g, want %.17g)\n",
                  fn->name, vs[v].name, static_cast<long long>(w.ulp), w.x, w.got, w.want);
      std::fflush(stdout);
      EXPECT_LE(w.ulp, fn->bound) << fn->name << " " << vs[v].name;
    }
  }
}

// ---- special values, exactly ----------------------------------------------------------------

// Same bits, or both NaN.
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || bits(a) == bits(b); }

void check_specials(const Fn& fn, const std::vector<std::pair<float, float>>& cases) {
  for (const Variant& v : variants()) {
    std::vector<float> x, got(cases.size());
    for (const auto& c : cases) x.push_back(c.first);
    (v.table->*fn.member)(x.data(), got.data(), int64_t(x.size()));
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_TRUE(same(got[i], cases[i].second))
          << fn.name << " " << v.name << "(" << x[i] << ") = " << got[i] << " (bits " << std::hex
          << bits(got[i]) << std::dec << "), expected " << cases[i].second;
    }
  }
}

constexpr float kMin = std::numeric_limits<float>::min();
constexpr float kDenMin = std::numeric_limits<float>::denorm_min();
constexpr float kMax = std::numeric_limits<float>::max();

TEST(VmathSpecial, Exp) {
  check_specials(kExp, {{kNaN, kNaN},
                        {-kNaN, kNaN},
                        {kInf, kInf},
                        {-kInf, 0},
                        {0, 1},
                        {-0.0f, 1},
                        {88.73f, kInf},
                        {89, kInf},
                        {1e4f, kInf},
                        {kMax, kInf},
                        {-104, 0},
                        {-1e4f, 0},
                        {-kMax, 0},
                        {kDenMin, 1},
                        {-kDenMin, 1},
                        {1, 2.71828183f}});
}

TEST(VmathSpecial, ExpDenormalResults) {
  // Gradual underflow: exp of -100 is about 3.7e-44, a denormal; check it is there and right.
  for (const Variant& v : variants()) {
    const float x[3] = {-100.0f, -95.0f, -103.0f};
    float got[3];
    v.table->exp(x, got, 3);
    for (int i = 0; i < 3; ++i) {
      const float want = float(std::exp(double(x[i])));
      EXPECT_GT(got[i], 0.0f) << v.name << " exp(" << x[i] << ")";
      EXPECT_LT(got[i], kMin) << v.name << " exp(" << x[i] << ")";
      EXPECT_LE(ulp_distance(got[i], want), 1) << v.name << " exp(" << x[i] << ")";
    }
  }
}

TEST(VmathSpecial, Log) {
  check_specials(kLog, {{kNaN, kNaN},
                        {-kNaN, kNaN},
                        {kInf, kInf},
                        {-kInf, kNaN},
                        {0, -kInf},
                        {-0.0f, -kInf},
                        {-1, kNaN},
                        {-kDenMin, kNaN},
                        {1, 0},
                        {2, 0.693147182f},
                        {0.5f, -0.693147182f},
                        {kDenMin, -103.278931f},
                        {kMin, -87.3365479f},
                        {kMax, 88.7228394f}});
}

TEST(VmathSpecial, Log1p) {
  check_specials(kLog1p, {{kNaN, kNaN},
                          {kInf, kInf},
                          {-kInf, kNaN},
                          {-1, -kInf},
                          {-2, kNaN},
                          {-1.0000001f, kNaN},
                          {0, 0},
                          {-0.0f, -0.0f},
                          {kDenMin, kDenMin},
                          {-kDenMin, -kDenMin},
                          {1e-30f, 1e-30f},
                          {-1e-30f, -1e-30f},
                          {1, 0.693147182f},
                          {kMax, 88.7228394f}});
}

TEST(VmathSpecial, Tanh) {
  check_specials(kTanh, {{kNaN, kNaN},
                         {-kNaN, kNaN},
                         {kInf, 1},
                         {-kInf, -1},
                         {0, 0},
                         {-0.0f, -0.0f},
                         {kDenMin, kDenMin},
                         {-kDenMin, -kDenMin},
                         {1e-20f, 1e-20f},
                         {-1e-20f, -1e-20f},
                         {9.02f, 1},
                         {-9.02f, -1},
                         {10, 1},
                         {-10, -1},
                         {20, 1},
                         {1e4f, 1},
                         {-1e4f, -1},
                         {kMax, 1},
                         {-kMax, -1}});
}

TEST(VmathSpecial, Sigmoid) {
  check_specials(kSigmoid, {{kNaN, kNaN},
                            {-kNaN, kNaN},
                            {kInf, 1},
                            {-kInf, 0},
                            {0, 0.5f},
                            {-0.0f, 0.5f},
                            {1e4f, 1},
                            {-1e4f, 0},
                            {kMax, 1},
                            {-kMax, 0},
                            {17.5f, 1},
                            {-104, 0}});
}

TEST(VmathSpecial, TanhIsOddBitForBit) {
  for (const Variant& v : variants()) {
    std::vector<float> x, y(1 << 16), ny(1 << 16);
    for (uint32_t b = 0; b < 0x7F800000u; b += 0x7F800000u / (1 << 16) + 1)
      x.push_back(from_bits(b));
    std::vector<float> nx(x.size());
    for (size_t i = 0; i < x.size(); ++i) nx[i] = -x[i];
    v.table->tanh(x.data(), y.data(), int64_t(x.size()));
    v.table->tanh(nx.data(), ny.data(), int64_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(bits(ny[i]), bits(-y[i])) << v.name << " tanh(" << x[i] << ")";
    }
  }
}

// ---- tails, offsets, in place ---------------------------------------------------------------

// Inputs spread over each function's interesting range, so every code path is in play.
std::vector<float> sample_inputs(const Fn& fn, size_t n) {
  std::vector<float> x(n);
  uint32_t s = 12345;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    const float u = float(s >> 8) * 0x1p-24f;  // [0, 1)
    if (fn.member == &Table::log) {
      x[i] = std::ldexp(0.5f + u, int(i % 60) - 30);
    } else if (fn.member == &Table::log1p) {
      x[i] = -1 + std::ldexp(u, int(i % 12) - 4);
    } else {
      x[i] = (u - 0.5f) * 60;
    }
  }
  return x;
}

TEST(VmathTails, EveryLengthAndOffsetMatchesTheFullRun) {
  constexpr int64_t kMaxN = 70;  // past 2 x 16 lanes plus a tail, for every ISA
  constexpr float kCanary = -12345.0f;
  for (const Fn* fn : {&kExp, &kLog, &kLog1p, &kTanh, &kSigmoid}) {
    const auto x = sample_inputs(*fn, kMaxN + 8);
    for (const Variant& v : variants()) {
      const UnaryF32 f = v.table->*fn->member;
      std::vector<float> full(x.size());
      f(x.data(), full.data(), int64_t(x.size()));
      for (int64_t off = 0; off < 4; ++off) {
        for (int64_t n = 0; n <= kMaxN; ++n) {
          // Output surrounded by canaries: nothing outside [off, off + n) may change.
          std::vector<float> out(size_t(kMaxN + 8), kCanary);
          f(x.data() + off, out.data() + off, n);
          for (int64_t i = 0; i < int64_t(out.size()); ++i) {
            if (i >= off && i < off + n) {
              ASSERT_TRUE(same(out[size_t(i)], full[size_t(i)]))
                  << fn->name << " " << v.name << " n=" << n << " off=" << off << " i=" << i;
            } else {
              ASSERT_EQ(out[size_t(i)], kCanary)
                  << fn->name << " " << v.name << " wrote outside n=" << n << " off=" << off;
            }
          }
          // In place gives the same.
          std::vector<float> inplace(x.begin() + off, x.begin() + off + n);
          f(inplace.data(), inplace.data(), n);
          for (int64_t i = 0; i < n; ++i) {
            ASSERT_TRUE(same(inplace[size_t(i)], full[size_t(off + i)]))
                << fn->name << " " << v.name << " in place n=" << n << " i=" << i;
          }
        }
      }
    }
  }
}

TEST(VmathTails, VariantsAgreeClosely) {
  // FMA or not changes a rounding here and there, never more than the bounds allow between them.
  const auto vs = variants();
  for (const Fn* fn : {&kExp, &kLog, &kLog1p, &kTanh, &kSigmoid}) {
    const auto x = sample_inputs(*fn, 4096);
    std::vector<float> a(x.size()), b(x.size());
    (vs[0].table->*fn->member)(x.data(), a.data(), int64_t(x.size()));
    for (size_t v = 1; v < vs.size(); ++v) {
      (vs[v].table->*fn->member)(x.data(), b.data(), int64_t(x.size()));
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_LE(ulp_distance(a[i], b[i]), 2 * fn->bound)
            << fn->name << " generic vs " << vs[v].name << " at " << x[i];
      }
    }
  }
}

// ---- the tensor ops use them ----------------------------------------------------------------

using affine::DType;
using affine::Tensor;

struct TensorOp {
  const Fn* fn;
  Tensor (*op)(const Tensor&);
};

const TensorOp kOps[] = {{&kExp, affine::exp},
                         {&kLog, affine::log},
                         {&kLog1p, affine::log1p},
                         {&kTanh, affine::tanh},
                         {&kSigmoid, affine::sigmoid}};

TEST(VmathTensor, Float32OpsRouteThroughTheActiveTableForEveryLayout) {
  constexpr int64_t kRows = 37, kCols = 53;  // neither a multiple of 8 nor 16
  for (const TensorOp& t : kOps) {
    const auto x = sample_inputs(*t.fn, kRows * kCols);
    const Tensor a = Tensor::from_vector(x, {kRows, kCols});
    std::vector<float> want(x.size());
    (affine::detail::vmath::active().*(t.fn->member))(x.data(), want.data(), int64_t(x.size()));

    const auto got = t.op(a).to_vector<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(same(got[i], want[i])) << t.fn->name << " contiguous, element " << i;
      ASSERT_LE(ulp_distance(got[i], float(t.fn->ref(double(x[i])))), t.fn->bound)
          << t.fn->name << "(" << x[i] << ")";
    }

    // Transposed view: element (j, i) of the result is f(a[i, j]), bit for bit.
    const Tensor at = a.t();
    ASSERT_FALSE(at.is_contiguous());
    const auto gt = t.op(at).to_vector<float>();
    for (int64_t j = 0; j < kCols; ++j) {
      for (int64_t i = 0; i < kRows; ++i) {
        ASSERT_TRUE(same(gt[size_t(j * kRows + i)], want[size_t(i * kCols + j)]))
            << t.fn->name << " transposed (" << j << ", " << i << ")";
      }
    }

    // Strided slice (every 3rd column): rows of length 18 with stride 3.
    const Tensor as = a.slice(1, 1, kCols, 3);
    const auto gs = t.op(as).to_vector<float>();
    const int64_t sc = as.shape()[1];
    for (int64_t i = 0; i < kRows; ++i) {
      for (int64_t j = 0; j < sc; ++j) {
        ASSERT_TRUE(same(gs[size_t(i * sc + j)], want[size_t(i * kCols + 1 + 3 * j)]))
            << t.fn->name << " sliced (" << i << ", " << j << ")";
      }
    }

    // A long strided row (more than the 512-element gather chunk), e.g. a column of a wide
    // matrix.
    std::vector<float> wide(size_t(1300) * 3);
    for (size_t i = 0; i < wide.size(); ++i) wide[i] = x[i % x.size()];
    const Tensor col = Tensor::from_vector(wide, {1300, 3}).slice(1, 2, 3).squeeze();
    ASSERT_FALSE(col.is_contiguous());
    std::vector<float> col_in(1300), col_want(1300);
    for (size_t i = 0; i < 1300; ++i) col_in[i] = wide[i * 3 + 2];
    (affine::detail::vmath::active().*(t.fn->member))(col_in.data(), col_want.data(), 1300);
    const auto gc = t.op(col).to_vector<float>();
    for (size_t i = 0; i < 1300; ++i) {
      ASSERT_TRUE(same(gc[i], col_want[i])) << t.fn->name << " long strided row, element " << i;
    }
  }
}

TEST(VmathTensor, Float64KeepsStd) {
  const std::vector<double> x{-30, -3.5, -1e-10, 0, 1e-10, 0.25, 1, 2.5, 17, 80};
  const Tensor a = Tensor::from_vector(x);
  const auto e = affine::exp(a).to_vector<double>();
  const auto t = affine::tanh(a).to_vector<double>();
  const auto l = affine::log(affine::abs(a)).to_vector<double>();
  const auto l1 = affine::log1p(affine::abs(a)).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(e[i], std::exp(x[i]));
    EXPECT_EQ(t[i], std::tanh(x[i]));
    EXPECT_EQ(l[i], std::log(std::abs(x[i])));
    EXPECT_EQ(l1[i], std::log1p(std::abs(x[i])));
  }
}

TEST(VmathTensor, SigmoidIsFiniteEverywhere) {
  const Tensor a = Tensor::from_vector(std::vector<float>{-1e4f, -200, -90, 0, 90, 200, 1e4f});
  const auto s = affine::sigmoid(a).to_vector<float>();
  for (float v : s) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(s.front(), 0.0f);
  EXPECT_EQ(s.back(), 1.0f);
  EXPECT_EQ(s[3], 0.5f);
  EXPECT_GT(s[2], 0.0f);  // exp(-90) ~ 8e-40 is a denormal, kept rather than flushed
}

// The backward kernels beside their forward: g (1 - y^2) and g y (1 - y). The portable variant
// matches the scalar formula bit for bit; the AVX ones may fuse a multiply-add (one rounding
// less), so they match within a few float32 roundings of |g|. Every length (vector tails), and in
// place (out == g).
TEST(VmathBackward, TanhAndSigmoidMatchTheFormulaExactly) {
  std::vector<float> g(67), y(67);
  for (size_t i = 0; i < g.size(); ++i) {
    g[i] = std::sin(float(i)) * 3.0f;
    y[i] = std::cos(float(i) * 0.7f) * 0.999f;
  }
  for (const Variant& v : variants()) {
    SCOPED_TRACE(v.name);
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{16}, int64_t{67}}) {
      std::vector<float> out(g.size(), -7.0f), inplace = g;
      v.table->tanh_backward(g.data(), y.data(), out.data(), n);
      v.table->sigmoid_backward(inplace.data(), y.data(), inplace.data(), n);
      for (int64_t i = 0; i < int64_t(g.size()); ++i) {
        const float want_t = i < n ? g[i] * (1.0f - y[i] * y[i]) : -7.0f;
        const float want_s = i < n ? (g[i] * y[i]) * (1.0f - y[i]) : g[i];
        const float tol = std::string(v.name) == "generic" ? 0.0f : 4e-7f * std::abs(g[i]);
        EXPECT_NEAR(out[i], want_t, tol) << "tanh_backward n=" << n << " i=" << i;
        EXPECT_NEAR(inplace[i], want_s, tol) << "sigmoid_backward n=" << n << " i=" << i;
      }
    }
  }
}

}  // namespace
