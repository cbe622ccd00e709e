// Elementwise ops, broadcasting, matmul, concat and allclose (reductions: reduce_test.cpp).
//
// Expected values come from hand computation or from a float64 reference built here with std::
// functions and explicit index arithmetic, independent of the library's strided loops.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "affine/tensor/ops.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"
#include "test_util.hpp"

namespace {

using affine::DType;
using affine::Error;
using affine::Shape;
using affine::Tensor;

const DType kFloats[] = {DType::f32, DType::f64};

std::string dname(DType d) { return std::string(affine::dtype_name(d)); }

// The message of the affine::Error that fn throws ("" and a test failure when it throws none).
using affine::test::error_of;

std::vector<affine::Dims> all_indices(const Shape& s) {
  std::vector<affine::Dims> out;
  const int64_t n = affine::shape_numel(s);
  for (int64_t flat = 0; flat < n; ++flat) {
    affine::Dims idx = affine::Dims::filled(s.size(), 0);
    int64_t rem = flat;
    for (int d = s.size() - 1; d >= 0; --d) {
      idx[d] = rem % s[d];
      rem /= s[d];
    }
    out.push_back(idx);
  }
  return out;
}

// The index into a tensor of shape `s` that broadcasting maps output index `idx` to.
affine::Dims project(const affine::Dims& idx, const Shape& s) {
  affine::Dims r = affine::Dims::filled(s.size(), 0);
  const int shift = idx.size() - s.size();
  for (int d = 0; d < s.size(); ++d) r[d] = s[d] == 1 ? 0 : idx[d + shift];
  return r;
}

Tensor ref_unary(const Tensor& a, const std::function<double(double)>& f) {
  Tensor out = Tensor::zeros(a.shape(), DType::f64);
  for (const auto& i : all_indices(a.shape())) out.set(i, f(a.get(i)));
  return out;
}

Tensor ref_binary(const Tensor& a, const Tensor& b, const Shape& out_shape,
                  const std::function<double(double, double)>& f) {
  Tensor out = Tensor::zeros(out_shape, DType::f64);
  for (const auto& i : all_indices(out_shape)) {
    out.set(i, f(a.get(project(i, a.shape())), b.get(project(i, b.shape()))));
  }
  return out;
}

// got must equal ref (computed in double) rounded to got's dtype, within rtol.
void expect_matches(const Tensor& got, const Tensor& ref, double rtol32, double rtol64) {
  ASSERT_EQ(got.shape(), ref.shape());
  const Tensor rounded = ref.to(got.dtype());
  const double rtol = got.dtype() == DType::f32 ? rtol32 : rtol64;
  EXPECT_TRUE(affine::allclose(got, rounded, rtol, 1e-300, /*equal_nan=*/true))
      << "got " << got << "\nexpected " << rounded;
}

// Exact equality of values (NaN matching NaN) and shape, for "same op on a view and on its
// contiguous copy".
void expect_same(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.dtype(), want.dtype());
  const auto g = got.to_vector<double>();
  const auto w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    if (!(g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i])))) {
      ADD_FAILURE() << "element " << i << ": " << g[i] << " vs " << w[i] << "\n"
                    << got << "\n"
                    << want;
      return;
    }
  }
}

// ---- tables of ops --------------------------------------------------------------------------

struct BinaryCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  double (*ref)(double, double);
  double lo, hi;  // operand range that keeps the op defined
  bool exact;     // correctly rounded in float: float result == double result rounded
};

double dmin(double x, double y) { return std::fmin(x, y); }
double dmax(double x, double y) { return std::fmax(x, y); }

const BinaryCase kBinary[] = {
    {"add", affine::add, [](double x, double y) { return x + y; }, -3, 3, true},
    {"sub", affine::sub, [](double x, double y) { return x - y; }, -3, 3, true},
    {"mul", affine::mul, [](double x, double y) { return x * y; }, -3, 3, true},
    {"div", affine::div, [](double x, double y) { return x / y; }, 0.5, 3, true},
    {"pow", affine::pow, [](double x, double y) { return std::pow(x, y); }, 0.5, 3, false},
    {"minimum", affine::minimum, dmin, -3, 3, true},
    {"maximum", affine::maximum, dmax, -3, 3, true},
    {"eq", affine::eq, [](double x, double y) { return double(x == y); }, -3, 3, true},
    {"ne", affine::ne, [](double x, double y) { return double(x != y); }, -3, 3, true},
    {"lt", affine::lt, [](double x, double y) { return double(x < y); }, -3, 3, true},
    {"le", affine::le, [](double x, double y) { return double(x <= y); }, -3, 3, true},
    {"gt", affine::gt, [](double x, double y) { return double(x > y); }, -3, 3, true},
    {"ge", affine::ge, [](double x, double y) { return double(x >= y); }, -3, 3, true},
};

struct UnaryCase {
  const char* name;
  Tensor (*op)(const Tensor&);
  double (*ref)(double);
  double lo, hi;
  bool exact;
};

const UnaryCase kUnary[] = {
    {"neg", affine::neg, [](double x) { return -x; }, -5, 5, true},
    {"abs", affine::abs, [](double x) { return std::abs(x); }, -5, 5, true},
    {"exp", affine::exp, [](double x) { return std::exp(x); }, -5, 5, false},
    {"log", affine::log, [](double x) { return std::log(x); }, 0.01, 50, false},
    {"log1p", affine::log1p, [](double x) { return std::log1p(x); }, -0.9, 50, false},
    {"sqrt", affine::sqrt, [](double x) { return std::sqrt(x); }, 0, 50, true},
    {"square", affine::square, [](double x) { return x * x; }, -5, 5, true},
    {"tanh", affine::tanh, [](double x) { return std::tanh(x); }, -5, 5, false},
    {"sigmoid", affine::sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20, false},
    {"relu", affine::relu, [](double x) { return x > 0 ? x : 0.0; }, -5, 5, true},
};

// Inexact float ops are within a few ulp of the correctly rounded value.
constexpr double kRtol32 = 1e-6;
constexpr double kRtol64 = 1e-14;

// ---- broadcasting -----------------------------------------------------------------------------

TEST(Broadcast, Shapes) {
  struct Case {
    Shape a, b, want;
  };
  const Case cases[] = {
      {{3, 4}, {3, 4}, {3, 4}},       {{3, 4}, {4}, {3, 4}}, {{3, 1}, {1, 4}, {3, 4}},
      {{}, {2, 3}, {2, 3}},           {{2, 3}, {}, {2, 3}},  {{}, {}, {}},
      {{5, 1, 4}, {3, 1}, {5, 3, 4}}, {{0}, {1}, {0}},       {{1}, {0}, {0}},
      {{2, 1, 0}, {3, 1}, {2, 3, 0}}, {{0, 4}, {4}, {0, 4}}, {{1, 1, 1}, {7}, {1, 1, 7}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(affine::broadcast_shapes(c.a, c.b), c.want) << c.a << " " << c.b;
    EXPECT_EQ(affine::broadcast_shapes(c.b, c.a), c.want) << c.b << " " << c.a;
  }
}

TEST(Broadcast, ErrorMessagesNameTheResultDimension) {
  EXPECT_EQ(error_of([] {
              affine::broadcast_shapes({3, 4}, {2, 4}, "add");
            }),
            "add: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)");
  // Right-aligned: the index is the broadcast result's, here rank 3.
  EXPECT_EQ(error_of([] {
              affine::broadcast_shapes({5, 3, 4}, {2, 4}, "mul");
            }),
            "mul: shapes [5, 3, 4] and [2, 4] cannot be broadcast (dimension 1: 3 vs 2)");
  EXPECT_EQ(error_of([] {
              affine::broadcast_shapes({2, 4}, {5, 3, 4}, "mul");
            }),
            "mul: shapes [2, 4] and [5, 3, 4] cannot be broadcast (dimension 1: 2 vs 3)");
  // A zero broadcasts with 1 only.
  EXPECT_EQ(error_of([] { affine::broadcast_shapes({0}, {2}, "sub"); }),
            "sub: shapes [0] and [2] cannot be broadcast (dimension 0: 0 vs 2)");
  // Several conflicts: the leftmost is reported.
  EXPECT_EQ(error_of([] {
              affine::broadcast_shapes({3, 5}, {2, 4});
            }),
            "broadcast: shapes [3, 5] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)");
  // The op's own name reaches the message.
  const Tensor a = Tensor::zeros({3, 4});
  const Tensor b = Tensor::zeros({2, 4});
  EXPECT_EQ(error_of([&] { affine::add(a, b); }),
            "add: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)");
  EXPECT_EQ(error_of([&] { (void)(a * b); }),
            "mul: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)");
  EXPECT_EQ(error_of([&] { affine::where(Tensor::zeros({5}), a, a); }),
            "where: shapes [5] and [3, 4] cannot be broadcast (dimension 1: 5 vs 4)");
}

// ---- binary ops -------------------------------------------------------------------------------

TEST(Binary, EveryOpMatchesFloat64ReferenceWithBroadcasting) {
  const std::pair<Shape, Shape> shapes[] = {
      {{3, 4}, {3, 4}},    {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{}, {2, 3}},           {{2, 3}, {}},
      {{2, 1, 3}, {4, 1}}, {{5}, {1}},    {{}, {}},         {{2, 3, 4}, {2, 1, 4}},
  };
  affine::Generator gen(1);
  for (DType dt : kFloats) {
    for (const auto& c : kBinary) {
      for (const auto& [sa, sb] : shapes) {
        SCOPED_TRACE(std::string(c.name) + " " + dname(dt) + " " + affine::to_string(sa) + " " +
                     affine::to_string(sb));
        Tensor a = Tensor::uniform(sa, c.lo, c.hi, gen, dt);
        Tensor b = Tensor::uniform(sb, c.lo, c.hi, gen, dt);
        if (sa == sb && std::string("eq ne le ge").find(c.name) != std::string::npos) {
          // Random operands are never equal: make about half the pairs equal.
          b = affine::where(affine::gt(Tensor::uniform(sa, 0, 1, gen, dt), 0.5), a, b);
        }
        const Tensor got = c.op(a, b);
        EXPECT_EQ(got.dtype(), dt);
        const Tensor ref = ref_binary(a, b, affine::broadcast_shapes(sa, sb), c.ref);
        expect_matches(got, ref, c.exact ? 0 : kRtol32, c.exact ? 0 : kRtol64);
      }
    }
  }
}

TEST(Binary, HandComputedValues) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3}, dt);
    const Tensor row = Tensor::of({10, 20, 30}, {3}, dt);
    const Tensor col = Tensor::of({100, 200}, {2, 1}, dt);
    EXPECT_EQ((a + row).to_vector<double>(), (std::vector<double>{11, 22, 33, 14, 25, 36}));
    EXPECT_EQ((a - col).to_vector<double>(),
              (std::vector<double>{-99, -98, -97, -196, -195, -194}));
    EXPECT_EQ((row * col).shape(), (Shape{2, 3}));
    EXPECT_EQ((row * col).to_vector<double>(),
              (std::vector<double>{1000, 2000, 3000, 2000, 4000, 6000}));
    EXPECT_EQ((a / Tensor::scalar(2, dt)).to_vector<double>(),
              (std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3}));
    EXPECT_EQ(affine::pow(a, Tensor::of({2, 0.5, -1}, {3}, dt)).to_vector<double>()[3], 16.0);
    EXPECT_EQ(affine::minimum(a, Tensor::scalar(3, dt)).to_vector<double>(),
              (std::vector<double>{1, 2, 3, 3, 3, 3}));
    EXPECT_EQ(affine::maximum(a, Tensor::scalar(3, dt)).to_vector<double>(),
              (std::vector<double>{3, 3, 3, 4, 5, 6}));
  }
}

TEST(Binary, MinimumMaximumPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({nan, 1, 2}, {3}, dt);
    const Tensor b = Tensor::of({0, nan, 1}, {3}, dt);
    for (const Tensor& r : {affine::minimum(a, b), affine::maximum(a, b), affine::minimum(b, a),
                            affine::maximum(b, a)}) {
      const auto v = r.to_vector<double>();
      EXPECT_TRUE(std::isnan(v[0]));
      EXPECT_TRUE(std::isnan(v[1]));
      EXPECT_FALSE(std::isnan(v[2]));
    }
  }
}

TEST(Binary, ScalarVariantsMatchReference) {
  affine::Generator gen(2);
  for (DType dt : kFloats) {
    SCOPED_TRACE(dname(dt));
    const Tensor a = Tensor::uniform({3, 5}, 0.5, 3, gen, dt);
    const double s = 1.75;
    expect_matches(affine::add(a, s), ref_unary(a, [&](double x) { return x + s; }), 0, 0);
    expect_matches(affine::sub(a, s), ref_unary(a, [&](double x) { return x - s; }), 0, 0);
    expect_matches(affine::sub(s, a), ref_unary(a, [&](double x) { return s - x; }), 0, 0);
    expect_matches(affine::mul(a, s), ref_unary(a, [&](double x) { return x * s; }), 0, 0);
    expect_matches(affine::div(a, s), ref_unary(a, [&](double x) { return x / s; }), 0, 0);
    expect_matches(affine::div(s, a), ref_unary(a, [&](double x) { return s / x; }), 0, 0);
    expect_matches(affine::minimum(a, s), ref_unary(a, [&](double x) { return std::fmin(x, s); }),
                   0, 0);
    expect_matches(affine::maximum(a, s), ref_unary(a, [&](double x) { return std::fmax(x, s); }),
                   0, 0);
    for (double e : {2.0, 3.0, 0.5, -1.5}) {
      expect_matches(affine::pow(a, e), ref_unary(a, [&](double x) { return std::pow(x, e); }),
                     kRtol32, kRtol64);
    }
    expect_matches(affine::eq(a, a.get({1, 2})),
                   ref_unary(a,
                             [&](double x) {
                               return double(x == a.get({1, 2}));
                             }),
                   0, 0);
    EXPECT_EQ(affine::eq(a, a.get({1, 2})).to_vector<double>()[7], 1.0);
    EXPECT_EQ(affine::sum(affine::eq(a, a.get({1, 2}))).item(), 1.0);
    expect_matches(affine::ne(a, 2.0), ref_unary(a, [](double x) { return double(x != 2.0); }), 0,
                   0);
    expect_matches(affine::lt(a, 2.0), ref_unary(a, [](double x) { return double(x < 2.0); }), 0,
                   0);
    expect_matches(affine::le(a, 2.0), ref_unary(a, [](double x) { return double(x <= 2.0); }), 0,
                   0);
    expect_matches(affine::gt(a, 2.0), ref_unary(a, [](double x) { return double(x > 2.0); }), 0,
                   0);
    expect_matches(affine::ge(a, 2.0), ref_unary(a, [](double x) { return double(x >= 2.0); }), 0,
                   0);
  }
}

TEST(Binary, ScalarTakesTheTensorDtype) {
  // 0.1 is not a float: in float32 the comparison must be against float(0.1).
  const Tensor a = Tensor::of({0.1}, {1}, DType::f32);
  EXPECT_EQ(affine::eq(a, 0.1).item(), 1.0);
  EXPECT_EQ(affine::add(a, 0.1).dtype(), DType::f32);
  EXPECT_EQ(affine::add(a, 0.1).item(), double(0.1f + 0.1f));
}

TEST(Binary, Operators) {
  affine::Generator gen(3);
  for (DType dt : kFloats) {
    const Tensor a = Tensor::uniform({2, 3}, 1, 2, gen, dt);
    const Tensor b = Tensor::uniform({3}, 1, 2, gen, dt);
    expect_same(a + b, affine::add(a, b));
    expect_same(a - b, affine::sub(a, b));
    expect_same(a * b, affine::mul(a, b));
    expect_same(a / b, affine::div(a, b));
    expect_same(-a, affine::neg(a));
    expect_same(a + 2.0, affine::add(a, 2.0));
    expect_same(2.0 + a, affine::add(a, 2.0));
    expect_same(a - 2.0, affine::sub(a, 2.0));
    expect_same(2.0 - a, affine::sub(2.0, a));
    expect_same(a * 2.0, affine::mul(a, 2.0));
    expect_same(2.0 * a, affine::mul(a, 2.0));
    expect_same(a / 2.0, affine::div(a, 2.0));
    expect_same(2.0 / a, affine::div(2.0, a));
    EXPECT_EQ(
        (2.0 - a).get({0, 0}),
        static_cast<double>(dt == DType::f32 ? 2.0f - float(a.get({0, 0})) : 2.0 - a.get({0, 0})));
  }
}

TEST(Binary, ResultIsNewContiguousTensor) {
  const Tensor a = Tensor::ones({4, 3}).t();
  const Tensor r = a + 1.0;
  EXPECT_TRUE(r.is_contiguous());
  EXPECT_FALSE(r.shares_storage(a));
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
}

TEST(Binary, ZeroSizeAndRankZero) {
  for (DType dt : kFloats) {
    const Tensor e = Tensor::zeros({0, 3}, dt);
    EXPECT_EQ((e + Tensor::ones({3}, dt)).shape(), (Shape{0, 3}));
    EXPECT_EQ((e + Tensor::ones({1, 1}, dt)).shape(), (Shape{0, 3}));
    EXPECT_EQ(affine::add(Tensor::zeros({0}, dt), Tensor::ones({}, dt)).shape(), (Shape{0}));
    EXPECT_EQ(affine::where(Tensor::zeros({2, 0}, dt), Tensor::ones({1}, dt), Tensor::ones({}, dt))
                  .shape(),
              (Shape{2, 0}));
    const Tensor s = Tensor::scalar(3, dt) * Tensor::scalar(4, dt);
    EXPECT_EQ(s.rank(), 0);
    EXPECT_EQ(s.item(), 12.0);
    EXPECT_EQ(affine::exp(Tensor::zeros({0, 2}, dt)).shape(), (Shape{0, 2}));
  }
}

TEST(Binary, DtypeAndDefinednessErrors) {
  const Tensor f = Tensor::zeros({2}, DType::f32);
  const Tensor d = Tensor::zeros({2}, DType::f64);
  const Tensor i = Tensor::zeros({2}, DType::i64);
  EXPECT_EQ(error_of([&] { affine::add(f, d); }),
            "add: dtypes float32 and float64 differ (convert with Tensor::to)");
  EXPECT_EQ(error_of([&] { affine::pow(d, f); }),
            "pow: dtypes float64 and float32 differ (convert with Tensor::to)");
  EXPECT_EQ(error_of([&] { affine::where(f, f, d); }),
            "where: dtypes float32 and float64 differ (convert with Tensor::to)");
  EXPECT_EQ(error_of([&] { affine::mul(i, i); }),
            "mul: int64 tensors support no arithmetic (convert with to(DType::f32) or "
            "to(DType::f64))");
  EXPECT_EQ(error_of([&] { affine::exp(i); }),
            "exp: int64 tensors support no arithmetic (convert with to(DType::f32) or "
            "to(DType::f64))");
  EXPECT_NE(error_of([&] { affine::add(i, 1.0); }).find("add: int64"), std::string::npos);
  EXPECT_EQ(error_of([&] { affine::lt(i, f); }),
            "lt: dtypes int64 and float32 differ (convert with Tensor::to)");
  EXPECT_EQ(error_of([&] { affine::add(Tensor(), f); }),
            "add: first operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::sub(f, Tensor()); }),
            "sub: second operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::tanh(Tensor()); }), "tanh: operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::mul(Tensor(), 2.0); }), "mul: operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::where(Tensor(), f, f); }), "where: mask is an undefined tensor");
}

// ---- unary ops --------------------------------------------------------------------------------

TEST(Unary, EveryOpMatchesFloat64Reference) {
  affine::Generator gen(4);
  for (DType dt : kFloats) {
    for (const auto& c : kUnary) {
      SCOPED_TRACE(std::string(c.name) + " " + dname(dt));
      const Tensor a = Tensor::uniform({4, 9}, c.lo, c.hi, gen, dt);
      const Tensor got = c.op(a);
      EXPECT_EQ(got.dtype(), dt);
      expect_matches(got, ref_unary(a, c.ref), c.exact ? 0 : kRtol32, c.exact ? 0 : kRtol64);
    }
  }
}

TEST(Unary, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  for (DType dt : kFloats) {
    const auto lg = affine::log(Tensor::of({0, -1, 1}, {3}, dt)).to_vector<double>();
    EXPECT_EQ(lg[0], -inf);
    EXPECT_TRUE(std::isnan(lg[1]));
    EXPECT_EQ(lg[2], 0.0);
    EXPECT_EQ(affine::log1p(Tensor::of({-1}, {1}, dt)).item(), -inf);
    EXPECT_TRUE(std::isnan(affine::sqrt(Tensor::of({-1}, {1}, dt)).item()));
    EXPECT_EQ(affine::exp(Tensor::of({-inf}, {1}, dt)).item(), 0.0);
    const auto r = affine::relu(Tensor::of({-2, 0, 3, std::nan("")}, {4}, dt)).to_vector<double>();
    EXPECT_EQ(r[0], 0.0);
    EXPECT_EQ(r[1], 0.0);
    EXPECT_EQ(r[2], 3.0);
    EXPECT_TRUE(std::isnan(r[3]));
  }
}

TEST(Unary, SigmoidAndTanhAreFiniteAndSaturateAtLargeMagnitude) {
  for (DType dt : kFloats) {
    SCOPED_TRACE(dname(dt));
    const Tensor x = Tensor::of({-1e4, -100, 100, 1e4, 0}, {5}, dt);
    const auto s = affine::sigmoid(x).to_vector<double>();
    for (double v : s) EXPECT_TRUE(std::isfinite(v)) << v;
    EXPECT_EQ(s[0], 0.0);
    EXPECT_GE(s[1], 0.0);
    // exp(-100) = 3.7e-44: a float32 subnormal, a normal float64.
    const double e100 = dt == DType::f32 ? double(std::exp(-100.0f) / (1.0f + std::exp(-100.0f)))
                                         : std::exp(-100.0) / (1 + std::exp(-100.0));
    EXPECT_EQ(s[1], e100);
    EXPECT_GT(s[1], 0.0);
    EXPECT_EQ(s[2], 1.0);
    EXPECT_EQ(s[3], 1.0);
    EXPECT_EQ(s[4], 0.5);
    const auto t = affine::tanh(x).to_vector<double>();
    EXPECT_EQ(t, (std::vector<double>{-1, -1, 1, 1, 0}));
    // The small tail keeps full relative precision (1 - sigmoid(30) would round to 0 or 1e-16).
    const auto tail = affine::sigmoid(Tensor::of({-30}, {1}, dt)).item();
    const double want = std::exp(-30.0) / (1 + std::exp(-30.0));
    EXPECT_NEAR(tail / want, 1.0, dt == DType::f32 ? 1e-6 : 1e-14);
  }
}

TEST(Unary, Clamp) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({-3, -1, 0, 0.5, 2, 7}, {2, 3}, dt);
    EXPECT_EQ(affine::clamp(a, -1, 1).to_vector<double>(),
              (std::vector<double>{-1, -1, 0, 0.5, 1, 1}));
    EXPECT_EQ(affine::clamp(a, 0.5, 0.5).to_vector<double>(), std::vector<double>(6, 0.5));
    EXPECT_TRUE(std::isnan(affine::clamp(Tensor::of({std::nan("")}, {1}, dt), 0, 1).item()));
  }
  const Tensor a = Tensor::zeros({2});
  EXPECT_EQ(error_of([&] { affine::clamp(a, 2, 1); }),
            "clamp: low (2.000000) must not exceed high (1.000000)");
  EXPECT_NE(error_of([&] { affine::clamp(a, std::nan(""), 1); }).find("clamp: low (nan)"),
            std::string::npos);
}

TEST(Where, SelectsWithBroadcasting) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3}, dt);
    const Tensor mask = affine::gt(a, 3.5);
    EXPECT_EQ(mask.dtype(), dt);
    EXPECT_EQ(mask.to_vector<double>(), (std::vector<double>{0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(affine::where(mask, a, Tensor::scalar(-1, dt)).to_vector<double>(),
              (std::vector<double>{-1, -1, -1, 4, 5, 6}));
    // Mask [3] broadcast along rows, values [2, 1] along columns; an int64 mask is accepted.
    const Tensor m = Tensor::from_vector(std::vector<int64_t>{1, 0, 2});
    const Tensor col = Tensor::of({10, 20}, {2, 1}, dt);
    EXPECT_EQ(affine::where(m, col, a).to_vector<double>(),
              (std::vector<double>{10, 2, 10, 20, 5, 20}));
    EXPECT_EQ(affine::where(m, col, a).shape(), (Shape{2, 3}));
    // A rank-3 mask grows the result.
    EXPECT_EQ(affine::where(Tensor::ones({4, 1, 1}, dt), a, a).shape(), (Shape{4, 2, 3}));
  }
}

// ---- non-contiguous inputs ------------------------------------------------------------------

struct View {
  std::string name;
  Tensor t;
};

// Views of logical shape [3, 4] laid out in different ways, with values in [lo, hi).
std::vector<View> views(affine::Generator& gen, DType dt, double lo, double hi) {
  std::vector<View> v;
  v.push_back({"contiguous", Tensor::uniform({3, 4}, lo, hi, gen, dt)});
  v.push_back({"transposed", Tensor::uniform({4, 3}, lo, hi, gen, dt).t()});
  v.push_back({"step-sliced", Tensor::uniform({3, 8}, lo, hi, gen, dt).slice(1, 0, 8, 2)});
  v.push_back({"sliced-both",
               Tensor::uniform({6, 9}, lo, hi, gen, dt).slice(0, 1, 6, 2).slice(1, 1, 9, 2)});
  v.push_back({"offset", Tensor::uniform({5, 4}, lo, hi, gen, dt).narrow(0, 2, 3)});
  v.push_back({"expanded-row", Tensor::uniform({1, 4}, lo, hi, gen, dt).expand({3, 4})});
  v.push_back({"expanded-col", Tensor::uniform({3, 1}, lo, hi, gen, dt).expand({3, 4})});
  v.push_back({"expanded-scalar", Tensor::uniform({}, lo, hi, gen, dt).expand({3, 4})});
  v.push_back(
      {"permuted-3d",
       Tensor::uniform({4, 2, 3}, lo, hi, gen, dt).permute({2, 1, 0}).narrow(1, 1, 1).squeeze(1)});
  for (const auto& x : v) EXPECT_EQ(x.t.shape(), (Shape{3, 4})) << x.name;
  return v;
}

TEST(NonContiguous, ViewsAreReallyStrided) {
  affine::Generator gen(5);
  for (const auto& v : views(gen, DType::f32, 0, 1)) {
    if (v.name != "contiguous" && v.name != "offset") {
      EXPECT_FALSE(v.t.is_contiguous()) << v.name;
    }
  }
}

TEST(NonContiguous, UnaryOpsEqualOpOnContiguousCopy) {
  affine::Generator gen(6);
  for (DType dt : kFloats) {
    for (const auto& c : kUnary) {
      for (const auto& v : views(gen, dt, c.lo, c.hi)) {
        SCOPED_TRACE(std::string(c.name) + " " + dname(dt) + " " + v.name);
        expect_same(c.op(v.t), c.op(v.t.contiguous()));
        expect_matches(c.op(v.t), ref_unary(v.t, c.ref), c.exact ? 0 : kRtol32,
                       c.exact ? 0 : kRtol64);
      }
      const Tensor v = Tensor::uniform({4, 3}, c.lo, c.hi, gen, dt).t();
      expect_same(affine::clamp(v, 0.2, 0.7), affine::clamp(v.contiguous(), 0.2, 0.7));
      expect_same(affine::pow(v, 1.5), affine::pow(v.contiguous(), 1.5));
      expect_same(affine::sub(1.5, v), affine::sub(1.5, v.contiguous()));
    }
  }
}

TEST(NonContiguous, BinaryOpsEqualOpOnContiguousCopies) {
  affine::Generator gen(7);
  for (DType dt : kFloats) {
    for (const auto& c : kBinary) {
      const auto xs = views(gen, dt, c.lo, c.hi);
      const auto ys = views(gen, dt, c.lo, c.hi);
      for (const auto& x : xs) {
        for (const auto& y : ys) {
          SCOPED_TRACE(std::string(c.name) + " " + dname(dt) + " " + x.name + " " + y.name);
          expect_same(c.op(x.t, y.t), c.op(x.t.contiguous(), y.t.contiguous()));
        }
        // A strided row vector broadcast against each layout.
        const Tensor row = Tensor::uniform({8}, c.lo, c.hi, gen, dt).slice(0, 0, 8, 2);
        expect_same(c.op(x.t, row), c.op(x.t.contiguous(), row.contiguous()));
        expect_same(c.op(row, x.t), c.op(row.contiguous(), x.t.contiguous()));
        expect_matches(c.op(x.t, row), ref_binary(x.t, row, {3, 4}, c.ref), c.exact ? 0 : kRtol32,
                       c.exact ? 0 : kRtol64);
      }
    }
  }
}

TEST(NonContiguous, WhereEqualsWhereOnContiguousCopies) {
  affine::Generator gen(8);
  for (DType dt : kFloats) {
    const auto ms = views(gen, dt, 0, 1);
    const auto xs = views(gen, dt, 0, 1);
    for (size_t i = 0; i < ms.size(); ++i) {
      const Tensor mask = affine::gt(ms[i].t, 0.5);
      const Tensor strided_mask = affine::gt(ms[i].t, 0.5).t().contiguous().t();
      const Tensor& x = xs[i].t;
      const Tensor& y = xs[(i + 3) % xs.size()].t;
      expect_same(affine::where(strided_mask, x, y),
                  affine::where(mask, x.contiguous(), y.contiguous()));
      Tensor want = Tensor::zeros({3, 4}, DType::f64);
      for (const auto& idx : all_indices({3, 4})) {
        want.set(idx, mask.get(idx) != 0 ? x.get(idx) : y.get(idx));
      }
      expect_matches(affine::where(strided_mask, x, y), want, 0, 0);
    }
  }
}

// ---- matmul -----------------------------------------------------------------------------------

TEST(Matmul, ReferenceHandValues) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({1, 2, 3, 4}, {2, 2}, dt);
    const Tensor b = Tensor::of({5, 6, 7, 8}, {2, 2}, dt);
    EXPECT_EQ(affine::matmul_reference(a, b).to_vector<double>(),
              (std::vector<double>{19, 22, 43, 50}));
    EXPECT_EQ(affine::matmul_reference(a.t(), b).to_vector<double>(),
              (std::vector<double>{26, 30, 38, 44}));
    const Tensor c = Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3}, dt);
    const Tensor d = Tensor::of({1, 0, 0, 1, 1, 1}, {3, 2}, dt);
    EXPECT_EQ(affine::matmul_reference(c, d).to_vector<double>(),
              (std::vector<double>{4, 5, 10, 11}));
    EXPECT_EQ(affine::matmul(c, d).to_vector<double>(), (std::vector<double>{4, 5, 10, 11}));
  }
}

TEST(Matmul, ReferenceAccumulatesInDouble) {
  // In float arithmetic 1e8 + 1 - 1e8 is 0.
  const Tensor a = Tensor::of({1e8, 1, -1e8}, {1, 3}, DType::f32);
  const Tensor b = Tensor::ones({3, 1}, DType::f32);
  EXPECT_EQ(affine::matmul_reference(a, b).item(), 1.0);
}

void expect_matmul_matches(const Tensor& a, const Tensor& b) {
  const Tensor got = affine::matmul(a, b);
  const Tensor want = affine::matmul_reference(a, b);
  ASSERT_EQ(got.shape(), want.shape());
  const double tol = a.dtype() == DType::f32 ? 1e-5 : 1e-12;
  EXPECT_TRUE(affine::allclose(got, want, tol, tol)) << a.shape() << " x " << b.shape();
  // And against matmul_reference on contiguous copies: views must not change the product.
  EXPECT_TRUE(
      affine::allclose(want, affine::matmul_reference(a.contiguous(), b.contiguous()), 0, 0));
}

TEST(Matmul, MatchesReference2D) {
  affine::Generator gen(9);
  for (DType dt : kFloats) {
    SCOPED_TRACE(dname(dt));
    for (auto [m, k, n] : {std::tuple{5, 7, 3},
                           {1, 2, 1},
                           {32, 2, 100},
                           {70, 130, 50},
                           {1, 1, 1},
                           {100, 1, 2},
                           {3, 300, 1}}) {
      const Tensor a = Tensor::randn({m, k}, gen, dt);
      const Tensor b = Tensor::randn({k, n}, gen, dt);
      expect_matmul_matches(a, b);
      // Transposed views: A^T B and A B^T as the backward pass uses them.
      expect_matmul_matches(Tensor::randn({k, m}, gen, dt).t(), b);
      expect_matmul_matches(a, Tensor::randn({n, k}, gen, dt).t());
      expect_matmul_matches(Tensor::randn({k, m}, gen, dt).t(), Tensor::randn({n, k}, gen, dt).t());
      // Step-sliced and expanded operands.
      expect_matmul_matches(
          Tensor::randn({2 * m, 3 * k}, gen, dt).slice(0, 0, 2 * m, 2).slice(1, 1, 3 * k, 3), b);
      expect_matmul_matches(a, Tensor::randn({1, n}, gen, dt).expand({k, n}));
    }
  }
}

TEST(Matmul, MatchesReferenceBatched3D) {
  affine::Generator gen(10);
  for (DType dt : kFloats) {
    SCOPED_TRACE(dname(dt));
    const Tensor a = Tensor::randn({4, 5, 6}, gen, dt);
    const Tensor b = Tensor::randn({4, 6, 3}, gen, dt);
    expect_matmul_matches(a, b);
    EXPECT_EQ(affine::matmul(a, b).shape(), (Shape{4, 5, 3}));
    // Each batch is the 2-D product of its slices.
    EXPECT_TRUE(affine::allclose(affine::matmul(a, b)[2], affine::matmul_reference(a[2], b[2]),
                                 1e-5, 1e-5));
    // Batch broadcasting: a batch of 1, and a 2-D operand shared by every batch.
    expect_matmul_matches(Tensor::randn({1, 5, 6}, gen, dt), b);
    expect_matmul_matches(a, Tensor::randn({1, 6, 3}, gen, dt));
    expect_matmul_matches(a, Tensor::randn({6, 3}, gen, dt));
    expect_matmul_matches(Tensor::randn({5, 6}, gen, dt), b);
    EXPECT_EQ(affine::matmul(Tensor::randn({5, 6}, gen, dt), b).shape(), (Shape{4, 5, 3}));
    EXPECT_TRUE(affine::allclose(affine::matmul(a, Tensor::ones({6, 3}, dt))[1],
                                 affine::matmul_reference(a[1], Tensor::ones({6, 3}, dt)), 1e-5,
                                 1e-5));
    // Transposed and permuted batches.
    expect_matmul_matches(Tensor::randn({4, 6, 5}, gen, dt).transpose(1, 2), b);
    expect_matmul_matches(Tensor::randn({5, 4, 6}, gen, dt).permute({1, 0, 2}),
                          Tensor::randn({3, 6, 4}, gen, dt).permute({2, 1, 0}));
    expect_matmul_matches(a, Tensor::randn({6, 3}, gen, dt).unsqueeze(0).expand({4, 6, 3}));
  }
}

TEST(Matmul, ZeroSizeDimensions) {
  for (DType dt : kFloats) {
    EXPECT_EQ(affine::matmul(Tensor::ones({0, 3}, dt), Tensor::ones({3, 4}, dt)).shape(),
              (Shape{0, 4}));
    EXPECT_EQ(affine::matmul(Tensor::ones({2, 3}, dt), Tensor::ones({3, 0}, dt)).shape(),
              (Shape{2, 0}));
    // k == 0: an empty sum, all zeros.
    const Tensor z = affine::matmul(Tensor::ones({2, 0}, dt), Tensor::ones({0, 3}, dt));
    EXPECT_EQ(z.shape(), (Shape{2, 3}));
    EXPECT_EQ(z.to_vector<double>(), std::vector<double>(6, 0.0));
    EXPECT_EQ(affine::matmul_reference(Tensor::ones({2, 0}, dt), Tensor::ones({0, 3}, dt))
                  .to_vector<double>(),
              std::vector<double>(6, 0.0));
    EXPECT_EQ(affine::matmul(Tensor::ones({0, 2, 3}, dt), Tensor::ones({3, 4}, dt)).shape(),
              (Shape{0, 2, 4}));
    EXPECT_EQ(affine::matmul(Tensor::ones({1, 2, 3}, dt), Tensor::ones({0, 3, 4}, dt)).shape(),
              (Shape{0, 2, 4}));
  }
}

TEST(Matmul, Errors) {
  const Tensor a = Tensor::zeros({2, 3});
  EXPECT_EQ(error_of([&] {
              affine::matmul(a, Tensor::zeros({4, 5}));
            }),
            "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (inner dimensions 3 and 4 "
            "differ)");
  EXPECT_EQ(error_of([&] {
              affine::matmul_reference(a, Tensor::zeros({4, 5}));
            }),
            "matmul_reference: shapes [2, 3] and [4, 5] cannot be multiplied (inner dimensions "
            "3 and 4 differ)");
  EXPECT_EQ(error_of([&] {
              affine::matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 4}));
            }),
            "matmul: shapes [2, 2, 3] and [3, 3, 4] cannot be multiplied (batch dimensions 2 and "
            "3 differ)");
  EXPECT_EQ(error_of([&] {
              affine::matmul(Tensor::zeros({3}), Tensor::zeros({3, 4}));
            }),
            "matmul: shapes [3] and [3, 4] cannot be multiplied (operands must be 2-D or 3-D)");
  EXPECT_EQ(
      error_of([&] {
        affine::matmul(Tensor::zeros({1, 1, 2, 3}), Tensor::zeros({3, 4}));
      }),
      "matmul: shapes [1, 1, 2, 3] and [3, 4] cannot be multiplied (operands must be 2-D or 3-D)");
  EXPECT_EQ(error_of([&] {
              affine::matmul(a, Tensor::zeros({3, 4}, DType::f64));
            }),
            "matmul: dtypes float32 and float64 differ (convert with Tensor::to)");
  EXPECT_NE(error_of([&] {
              affine::matmul(Tensor::zeros({2, 3}, DType::i64), Tensor::zeros({3, 4}, DType::i64));
            }).find("matmul: int64 tensors support no arithmetic"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { affine::matmul(Tensor(), a); }),
            "matmul: first operand is an undefined tensor");
}

// ---- concat -----------------------------------------------------------------------------------

TEST(Concat, JoinsAlongEachDimension) {
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    const Tensor a = Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3}, dt);
    const Tensor b = Tensor::of({7, 8, 9}, {1, 3}, dt);
    const Tensor r0 = affine::concat({a, b}, 0);
    EXPECT_EQ(r0.dtype(), dt);
    EXPECT_EQ(r0.shape(), (Shape{3, 3}));
    EXPECT_EQ(r0.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
    const Tensor c = Tensor::of({10, 20}, {2, 1}, dt);
    const Tensor r1 = affine::concat({c, a, c}, -1);
    EXPECT_EQ(r1.shape(), (Shape{2, 5}));
    EXPECT_EQ(r1.to_vector<double>(), (std::vector<double>{10, 1, 2, 3, 10, 20, 4, 5, 6, 20}));
    // A single tensor gives a copy.
    const Tensor one = affine::concat({a}, 1);
    EXPECT_EQ(one.to_vector<double>(), a.to_vector<double>());
    EXPECT_FALSE(one.shares_storage(a));
    // Zero-size pieces contribute nothing.
    EXPECT_EQ(affine::concat({a, Tensor::zeros({0, 3}, dt), b}, 0).to_vector<double>(),
              r0.to_vector<double>());
    EXPECT_EQ(affine::concat({Tensor::zeros({0, 3}, dt), Tensor::zeros({0, 3}, dt)}, 0).shape(),
              (Shape{0, 3}));
  }
}

TEST(Concat, NonContiguousInputs) {
  affine::Generator gen(11);
  for (DType dt : kFloats) {
    const auto vs = views(gen, dt, -1, 1);
    for (int dim : {0, 1}) {
      std::vector<Tensor> strided, dense;
      for (const auto& v : vs) {
        strided.push_back(v.t);
        dense.push_back(v.t.contiguous());
      }
      const Tensor got = affine::concat(strided, dim);
      expect_same(got, affine::concat(dense, dim));
      // Piece 1 (shape [3, 4]) lands at rows 3..5 or columns 4..7.
      expect_same(got.narrow(dim, dim == 0 ? 3 : 4, dim == 0 ? 3 : 4).contiguous(),
                  vs[1].t.contiguous());
    }
  }
}

TEST(Concat, Errors) {
  const Tensor a = Tensor::zeros({2, 3});
  EXPECT_EQ(error_of([] { affine::concat({}, 0); }), "concat: no tensors to join");
  EXPECT_EQ(error_of([&] {
              affine::concat({a, Tensor::zeros({2, 4})}, 0);
            }),
            "concat: shapes [2, 3] (tensor 0) and [2, 4] (tensor 1) cannot be joined along "
            "dimension 0 (dimension 1 differs)");
  EXPECT_EQ(error_of([&] {
              affine::concat({a, a, Tensor::zeros({3})}, 1);
            }),
            "concat: shapes [2, 3] (tensor 0) and [3] (tensor 2) cannot be joined along "
            "dimension 1 (ranks differ)");
  EXPECT_EQ(error_of([&] {
              affine::concat({a, Tensor::zeros({2, 3}, DType::f64)}, 0);
            }),
            "concat: dtypes float32 (tensor 0) and float64 (tensor 1) differ (convert with "
            "Tensor::to)");
  EXPECT_EQ(error_of([&] {
              affine::concat({a, Tensor()}, 0);
            }),
            "concat: tensor 1 is an undefined tensor");
  EXPECT_NE(error_of([&] {
              affine::concat({a, a}, 2);
            }).find("concat: axis 2 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of([&] { affine::concat({Tensor::scalar(1)}, 0); }).find("rank 0"),
            std::string::npos);
}

// ---- allclose ---------------------------------------------------------------------------------

TEST(Allclose, Semantics) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor a = Tensor::of({1, 2, 3}, {3}, DType::f64);
  EXPECT_TRUE(affine::allclose(a, a));
  EXPECT_TRUE(affine::allclose(a, Tensor::of({1, 2, 3 + 1e-6}, {3}, DType::f64), 1e-6, 0));
  EXPECT_FALSE(affine::allclose(a, Tensor::of({1, 2, 3 + 1e-4}, {3}, DType::f64), 1e-6, 0));
  EXPECT_FALSE(affine::allclose(a, Tensor::of({1, 2.5, 3}, {3}, DType::f64)));
  EXPECT_TRUE(affine::allclose(a, Tensor::of({1, 2.5, 3}, {3}, DType::f64), 0, 0.5));
  // The tolerance is relative to b.
  EXPECT_TRUE(affine::allclose(Tensor::of({0}, {1}), Tensor::of({1}, {1}), 1, 0));
  EXPECT_FALSE(affine::allclose(Tensor::of({1}, {1}), Tensor::of({0}, {1}), 1, 0));
  // Shapes must match exactly; dtypes may differ.
  EXPECT_FALSE(affine::allclose(a, a.reshape({3, 1})));
  EXPECT_FALSE(affine::allclose(Tensor::ones({3}), Tensor::ones({1})));
  EXPECT_TRUE(affine::allclose(a, a.to(DType::f32)));
  EXPECT_TRUE(affine::allclose(a, a.to(DType::i64)));
  // NaN and infinities.
  const Tensor n = Tensor::of({1, nan, inf}, {3}, DType::f64);
  EXPECT_FALSE(affine::allclose(n, n));
  EXPECT_TRUE(affine::allclose(n, n, 1e-5, 1e-8, true));
  EXPECT_FALSE(affine::allclose(n, Tensor::of({1, 0, inf}, {3}, DType::f64), 1e-5, 1e-8, true));
  EXPECT_FALSE(affine::allclose(Tensor::of({inf}, {1}), Tensor::of({-inf}, {1}), 1, 1));
  EXPECT_FALSE(affine::allclose(Tensor::of({inf}, {1}), Tensor::of({1e30}, {1}), 1e-3, 1));
  // Strided operands compare by logical index.
  const Tensor m = Tensor::of({1, 2, 3, 4}, {2, 2});
  EXPECT_TRUE(affine::allclose(m.t(), Tensor::of({1, 3, 2, 4}, {2, 2}), 0, 0));
  EXPECT_FALSE(affine::allclose(m.t(), m, 0, 0));
  EXPECT_TRUE(affine::allclose(Tensor::zeros({0, 2}), Tensor::zeros({0, 2})));
  EXPECT_EQ(error_of([&] { affine::allclose(Tensor(), a); }),
            "allclose: first operand is an undefined tensor");
}

// Labels and argmax indices are int64: comparing them gives an int64 0/1 mask.
TEST(Compare, Int64Operands) {
  const Tensor logits = Tensor::of({0.1, 0.9, 0.8, 0.2, 0.3, 0.7}, {3, 2});
  const Tensor y = Tensor::from_vector(std::vector<int64_t>{1, 1, 1});
  const Tensor hit = affine::eq(affine::argmax(logits, 1), y);
  EXPECT_EQ(hit.dtype(), DType::i64);
  EXPECT_EQ(hit.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_NEAR(affine::mean(hit.to(DType::f64)).item(), 2.0 / 3.0, 1e-15);
  const Tensor a = Tensor::from_vector(std::vector<int64_t>{-3, 0, 5, int64_t{1} << 40});
  const Tensor b = Tensor::from_vector(std::vector<int64_t>{0});  // broadcasts
  EXPECT_EQ(affine::ne(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 1}));
  EXPECT_EQ(affine::lt(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(affine::le(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0}));
  EXPECT_EQ(affine::gt(a, b).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(affine::ge(a, b).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 1}));
  // With a double, compared as doubles.
  EXPECT_EQ(affine::eq(a, 5.0).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(affine::lt(a, 0.5).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0}));
  EXPECT_EQ(affine::ge(a, -3.0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 1}));
  // Strided int64 input (a transposed view) compares element by element.
  const Tensor m = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4}, {2, 2}).t();
  EXPECT_EQ(affine::eq(m, Tensor::from_vector(std::vector<int64_t>{1, 3, 2, 4}, {2, 2}))
                .to_vector<int64_t>(),
            (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(error_of([&] { affine::eq(Tensor(), y); }), "eq: first operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::eq(logits, y); }),
            "eq: dtypes float32 and int64 differ (convert with Tensor::to)");
}

}  // namespace
