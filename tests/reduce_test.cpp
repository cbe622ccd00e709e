// Reductions: sum, mean, max, min, argmax, sum_to.
//
// The reference reduces by explicit index arithmetic in double, so it shares nothing with the
// library's coalesced inner/outer/general loops; every axis subset of ranks 1..4 is checked.
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

using affine::Axes;
using affine::Dims;
using affine::DType;
using affine::Error;
using affine::Shape;
using affine::Tensor;

const DType kFloats[] = {DType::f32, DType::f64};

using affine::test::error_of;

std::vector<Dims> all_indices(const Shape& s) {
  std::vector<Dims> out;
  const int64_t n = affine::shape_numel(s);
  for (int64_t flat = 0; flat < n; ++flat) {
    Dims idx = Dims::filled(s.size(), 0);
    int64_t rem = flat;
    for (int d = s.size() - 1; d >= 0; --d) {
      idx[d] = rem % s[d];
      rem /= s[d];
    }
    out.push_back(idx);
  }
  return out;
}

enum class Kind { sum, mean, max, min };
const Kind kKinds[] = {Kind::sum, Kind::mean, Kind::max, Kind::min};
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::sum:
      return "sum";
    case Kind::mean:
      return "mean";
    case Kind::max:
      return "max";
    case Kind::min:
      return "min";
  }
  return "?";
}

Tensor run(Kind k, const Tensor& a, const Axes& axes, bool keepdim) {
  switch (k) {
    case Kind::sum:
      return affine::sum(a, axes, keepdim);
    case Kind::mean:
      return affine::mean(a, axes, keepdim);
    case Kind::max:
      return affine::max(a, axes, keepdim);
    case Kind::min:
      return affine::min(a, axes, keepdim);
  }
  return {};
}

// Reduces in double over the (non-negative, distinct) axes; result in float64 with keepdim shape
// or squeezed shape.
Tensor reference(Kind k, const Tensor& a, const std::vector<int>& axes, bool keepdim) {
  std::vector<bool> red(static_cast<size_t>(a.rank()), false);
  for (int ax : axes) red[static_cast<size_t>(ax)] = true;
  Shape kshape, oshape;
  for (int d = 0; d < a.rank(); ++d) {
    kshape.push_back(red[size_t(d)] ? 1 : a.shape()[d]);
    if (!red[size_t(d)])
      oshape.push_back(a.shape()[d]);
    else if (keepdim)
      oshape.push_back(1);
  }
  const int64_t n_out = affine::shape_numel(kshape);
  std::vector<double> acc(static_cast<size_t>(n_out), k == Kind::max   ? -INFINITY
                                                      : k == Kind::min ? INFINITY
                                                                       : 0.0);
  std::vector<int64_t> count(static_cast<size_t>(n_out), 0);
  for (const auto& idx : all_indices(a.shape())) {
    int64_t o = 0;
    for (int d = 0; d < a.rank(); ++d) o = o * kshape[d] + (red[size_t(d)] ? 0 : idx[d]);
    const double x = a.get(idx);
    double& r = acc[size_t(o)];
    if (k == Kind::max)
      r = std::max(r, x);
    else if (k == Kind::min)
      r = std::min(r, x);
    else
      r += x;
    ++count[size_t(o)];
  }
  if (k == Kind::mean) {
    for (size_t i = 0; i < acc.size(); ++i) acc[i] /= double(count[i]);
  }
  return Tensor::from_vector(acc, oshape);
}

void expect_reduced(const Tensor& got, const Tensor& ref, DType dt) {
  ASSERT_EQ(got.shape(), ref.shape());
  ASSERT_EQ(got.dtype(), dt);
  // Sums accumulate in double and round once: float32 results are the rounded double sum
  // (up to the summation order, hence the small tolerance in float64).
  const double tol = dt == DType::f32 ? 1e-7 : 1e-14;
  EXPECT_TRUE(affine::allclose(got, ref.to(dt), tol, 1e-12)) << got << "\n" << ref;
}

const Shape kShapes[] = {{5}, {3, 4}, {2, 3, 4}, {2, 3, 2, 3}};

TEST(Reduce, EveryAxisSubsetOfRanks1To4MatchesReference) {
  affine::Generator gen(1);
  for (DType dt : kFloats) {
    for (const Shape& shape : kShapes) {
      const Tensor a = Tensor::uniform(shape, -2, 2, gen, dt);
      const int r = shape.size();
      for (int bits = 1; bits < (1 << r); ++bits) {
        std::vector<int> axes;
        Axes pos, neg;
        for (int d = 0; d < r; ++d) {
          if (bits & (1 << d)) {
            axes.push_back(d);
            pos.push_back(d);
            neg.push_back(d - r);
          }
        }
        for (Kind k : kKinds) {
          for (bool keepdim : {false, true}) {
            SCOPED_TRACE(std::string(kind_name(k)) + " " + std::string(affine::dtype_name(dt)) +
                         " shape " + affine::to_string(shape) + " axes " + affine::to_string(pos) +
                         (keepdim ? " keepdim" : ""));
            const Tensor ref = reference(k, a, axes, keepdim);
            expect_reduced(run(k, a, pos, keepdim), ref, dt);
            expect_reduced(run(k, a, neg, keepdim), ref, dt);
            // Axis order does not matter.
            Axes rev;
            for (int i = pos.size() - 1; i >= 0; --i) rev.push_back(pos[i]);
            expect_reduced(run(k, a, rev, keepdim), ref, dt);
          }
        }
      }
    }
  }
}

TEST(Reduce, HandComputedValues) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({1, 5, 3, 4, 2, 6}, {2, 3}, dt);
    EXPECT_EQ(affine::sum(a, {0}).to_vector<double>(), (std::vector<double>{5, 7, 9}));
    EXPECT_EQ(affine::sum(a, {1}).to_vector<double>(), (std::vector<double>{9, 12}));
    EXPECT_EQ(affine::sum(a, {1}, true).shape(), (Shape{2, 1}));
    EXPECT_EQ(affine::sum(a, {0, 1}, true).shape(), (Shape{1, 1}));
    EXPECT_EQ(affine::sum(a).rank(), 0);
    EXPECT_EQ(affine::sum(a).item(), 21.0);
    EXPECT_EQ(affine::mean(a).item(), 3.5);
    EXPECT_EQ(affine::mean(a, {0}).to_vector<double>(), (std::vector<double>{2.5, 3.5, 4.5}));
    EXPECT_EQ(affine::max(a).item(), 6.0);
    EXPECT_EQ(affine::min(a).item(), 1.0);
    EXPECT_EQ(affine::max(a, 1).to_vector<double>(), (std::vector<double>{5, 6}));
    EXPECT_EQ(affine::min(a, 0).to_vector<double>(), (std::vector<double>{1, 2, 3}));
    // Rank 0: reducing everything is the element itself.
    EXPECT_EQ(affine::sum(Tensor::scalar(4, dt)).item(), 4.0);
    EXPECT_EQ(affine::max(Tensor::scalar(4, dt)).item(), 4.0);
    // No axes reduces nothing (NumPy's axis=()).
    EXPECT_EQ(affine::sum(a, Axes{}).to_vector<double>(), a.to_vector<double>());
    EXPECT_EQ(affine::sum(a, Axes{}).shape(), a.shape());
  }
}

TEST(Reduce, SumAccumulatesInDouble) {
  // In float arithmetic 1e8 + 1 + 1 + ... stays 1e8; a double accumulator keeps every 1.
  std::vector<float> v{1e8f};
  for (int i = 0; i < 64; ++i) v.push_back(1.0f);
  v.push_back(-1e8f);
  const Tensor a = Tensor::from_vector(v);
  EXPECT_EQ(affine::sum(a).item(), 64.0);
  EXPECT_EQ(affine::mean(a).item(), float(64.0 / 66.0));
  // Same through the outer (first-axis) loop and the general strided loop.
  const Tensor col = a.reshape({66, 1}).expand({66, 3});
  EXPECT_EQ(affine::sum(col, {0}).to_vector<double>(), (std::vector<double>{64, 64, 64}));
  EXPECT_EQ(affine::sum(a.reshape({66, 1}).contiguous().t(), {1}).item(), 64.0);
}

// Inputs large enough to cross the 4-way unrolling and the 256-column accumulator block.
TEST(Reduce, FastPathsOnLargeContiguousTensors) {
  affine::Generator gen(2);
  for (DType dt : kFloats) {
    for (const Shape& shape : {Shape{37, 300}, Shape{3, 5, 517}, Shape{600, 7}, Shape{1031}}) {
      const Tensor a = Tensor::uniform(shape, -1, 1, gen, dt);
      for (int d = 0; d < shape.size(); ++d) {
        for (Kind k : kKinds) {
          SCOPED_TRACE(std::string(kind_name(k)) + " " + affine::to_string(shape) + " axis " +
                       std::to_string(d));
          expect_reduced(run(k, a, {d}, false), reference(k, a, {d}, false), dt);
        }
      }
      std::vector<int> all;
      Axes all_axes;
      for (int d = 0; d < shape.size(); ++d) {
        all.push_back(d);
        all_axes.push_back(d);
      }
      for (Kind k : kKinds) {
        SCOPED_TRACE(std::string(kind_name(k)) + " " + affine::to_string(shape) + " all axes");
        expect_reduced(run(k, a, all_axes, false), reference(k, a, all, false), dt);
      }
      expect_reduced(affine::sum(a), reference(Kind::sum, a, all, false), dt);
      expect_reduced(affine::max(a), reference(Kind::max, a, all, false), dt);
    }
  }
}

TEST(Reduce, NonContiguousInputsEqualContiguousCopies) {
  affine::Generator gen(3);
  for (DType dt : kFloats) {
    std::vector<std::pair<std::string, Tensor>> views = {
        {"transposed", Tensor::uniform({4, 3, 5}, -1, 1, gen, dt).permute({2, 0, 1})},
        {"step-sliced", Tensor::uniform({5, 6, 8}, -1, 1, gen, dt).slice(2, 1, 8, 2)},
        {"expanded", Tensor::uniform({5, 1, 4}, -1, 1, gen, dt).expand({5, 3, 4})},
        {"offset", Tensor::uniform({7, 3, 4}, -1, 1, gen, dt).narrow(0, 2, 5)},
        {"sliced-all", Tensor::uniform({10, 7, 9}, -1, 1, gen, dt)
                           .slice(0, 0, 10, 2)
                           .slice(1, 1, 7, 2)
                           .slice(2, 0, 8, 2)},
    };
    for (const auto& [name, v] : views) {
      ASSERT_EQ(v.rank(), 3);
      for (int bits = 1; bits < 8; ++bits) {
        std::vector<int> axes;
        Axes ax;
        for (int d = 0; d < 3; ++d) {
          if (bits & (1 << d)) {
            axes.push_back(d);
            ax.push_back(d);
          }
        }
        for (Kind k : kKinds) {
          SCOPED_TRACE(name + " " + kind_name(k) + " " + affine::to_string(ax));
          const Tensor got = run(k, v, ax, true);
          expect_reduced(got, reference(k, v, axes, true), dt);
          EXPECT_TRUE(affine::allclose(got, run(k, v.contiguous(), ax, true), 1e-7, 0));
        }
      }
      EXPECT_TRUE(affine::allclose(affine::sum(v), affine::sum(v.contiguous()), 1e-7, 0));
      EXPECT_EQ(affine::max(v).item(), affine::max(v.contiguous()).item());
      EXPECT_EQ(affine::argmax(v).item(), affine::argmax(v.contiguous()).item());
      for (int d = 0; d < 3; ++d) {
        EXPECT_EQ(affine::argmax(v, d).to_vector<int64_t>(),
                  affine::argmax(v.contiguous(), d).to_vector<int64_t>());
      }
    }
  }
}

TEST(Reduce, ZeroSize) {
  for (DType dt : kFloats) {
    const Tensor e = Tensor::zeros({0, 3}, dt);
    EXPECT_EQ(affine::sum(e).item(), 0.0);
    EXPECT_EQ(affine::sum(e, {0}).to_vector<double>(), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(affine::sum(e, {1}).shape(), (Shape{0}));
    EXPECT_TRUE(std::isnan(affine::mean(e).item()));
    const auto m = affine::mean(e, {0}, true);
    EXPECT_EQ(m.shape(), (Shape{1, 3}));
    for (double v : m.to_vector<double>()) EXPECT_TRUE(std::isnan(v));
    // Reducing the non-empty axis of an empty tensor is fine: nothing to compute.
    EXPECT_EQ(affine::max(e, 1).shape(), (Shape{0}));
    EXPECT_EQ(affine::argmax(e, 1).shape(), (Shape{0}));
    EXPECT_EQ(error_of([&] { affine::max(e, 0); }),
              "max: cannot reduce zero elements (shape [0, 3], axes [0]); max has no identity");
    EXPECT_EQ(error_of([&] { affine::min(e); }),
              "min: cannot reduce zero elements (shape [0, 3], all axes); min has no identity");
    EXPECT_EQ(error_of([&] { affine::argmax(e); }),
              "argmax: cannot reduce zero elements (shape [0, 3], all axes); argmax has no "
              "identity");
    EXPECT_EQ(error_of([&] { affine::argmax(e, -2); }),
              "argmax: cannot reduce zero elements (shape [0, 3], axis -2); argmax has no "
              "identity");
  }
}

TEST(Reduce, AxisErrors) {
  const Tensor a = Tensor::zeros({2, 3});
  EXPECT_EQ(error_of([&] {
              affine::sum(a, {1, -1});
            }),
            "sum: axis -1 is repeated in axes [1, -1] (rank 2)");
  EXPECT_EQ(error_of([&] {
              affine::max(a, {0, 0}, true);
            }),
            "max: axis 0 is repeated in axes [0, 0] (rank 2)");
  EXPECT_EQ(error_of([&] { affine::mean(a, {2}); }),
            "mean: axis 2 is out of range for a tensor of rank 2 (valid: -2..1)");
  EXPECT_EQ(error_of([&] { affine::min(a, -3); }),
            "min: axis -3 is out of range for a tensor of rank 2 (valid: -2..1)");
  EXPECT_EQ(error_of([&] { affine::argmax(a, 5); }),
            "argmax: axis 5 is out of range for a tensor of rank 2 (valid: -2..1)");
  EXPECT_NE(error_of([&] { affine::sum(Tensor::scalar(1), {0}); }).find("rank 0"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { affine::sum(Tensor()); }), "sum: operand is an undefined tensor");
  EXPECT_EQ(error_of([&] { affine::argmax(Tensor(), 0); }),
            "argmax: operand is an undefined tensor");
  EXPECT_NE(error_of([&] {
              affine::sum(Tensor::zeros({2}, DType::i64));
            }).find("sum: int64 tensors support no arithmetic"),
            std::string::npos);
}

TEST(Reduce, MaxMinPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dt : kFloats) {
    // NaN first, in the middle and last, through the inner, outer and general loops.
    const Tensor a = Tensor::of({nan, 1, 2, 3, 4, nan, 5, 6, 7, 8, 9, nan}, {3, 4}, dt);
    EXPECT_TRUE(std::isnan(affine::max(a).item()));
    EXPECT_TRUE(std::isnan(affine::min(a).item()));
    const auto rows = affine::max(a, 1).to_vector<double>();
    for (double v : rows) EXPECT_TRUE(std::isnan(v));
    const auto cols = affine::min(a, 0).to_vector<double>();
    EXPECT_TRUE(std::isnan(cols[0]));
    EXPECT_TRUE(std::isnan(cols[1]));
    EXPECT_EQ(cols[2], 2.0);
    EXPECT_TRUE(std::isnan(cols[3]));
    const auto tcols = affine::max(a.t(), 1).to_vector<double>();
    EXPECT_TRUE(std::isnan(tcols[0]));
    EXPECT_EQ(tcols[2], 9.0);
  }
}

TEST(Argmax, FirstMaximumAndAxes) {
  for (DType dt : kFloats) {
    const Tensor a = Tensor::of({1, 7, 7, 2, 9, 0, 9, 3}, {2, 4}, dt);
    const Tensor flat = affine::argmax(a);
    EXPECT_EQ(flat.dtype(), DType::i64);
    EXPECT_EQ(flat.rank(), 0);
    EXPECT_EQ(flat.item(), 4.0);  // the first 9
    EXPECT_EQ(affine::argmax(a, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
    EXPECT_EQ(affine::argmax(a, -1, true).shape(), (Shape{2, 1}));
    EXPECT_EQ(affine::argmax(a, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 1}));
    EXPECT_EQ(affine::argmax(a, 0, true).shape(), (Shape{1, 4}));
    // The flat index is in row-major order of the (transposed) view, not of memory.
    EXPECT_EQ(affine::argmax(a.t()).item(), 1.0);  // a.t() = [[1,9],[7,0],[7,9],[2,3]]
    EXPECT_EQ(affine::argmax(a.t(), 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
    // NaN counts as the largest, first one wins.
    const Tensor n = Tensor::of({1, std::nan(""), 5, std::nan("")}, {4}, dt);
    EXPECT_EQ(affine::argmax(n).item(), 1.0);
    EXPECT_EQ(affine::argmax(n, 0).item(), 1.0);
    EXPECT_EQ(affine::argmax(Tensor::scalar(3, dt)).item(), 0.0);
  }
}

TEST(Argmax, MatchesReferenceOnRank3) {
  affine::Generator gen(4);
  const Tensor a = Tensor::uniform({3, 4, 5}, 0, 1, gen, DType::f64);
  for (int ax = 0; ax < 3; ++ax) {
    const Tensor got = affine::argmax(a, ax);
    const Tensor mx = affine::max(a, ax, false);
    for (const auto& idx : all_indices(got.shape())) {
      Dims full;
      for (int d = 0, j = 0; d < 3; ++d) full.push_back(d == ax ? got.at<int64_t>(idx) : idx[j++]);
      EXPECT_EQ(a.get(full), mx.get(idx));
    }
  }
}

TEST(SumTo, ReversesBroadcasting) {
  affine::Generator gen(5);
  for (DType dt : kFloats) {
    const Tensor a = Tensor::uniform({2, 3, 4}, -1, 1, gen, dt);
    struct Case {
      Shape to;
      std::vector<int> axes;  // what sum_to must reduce
    };
    const Case cases[] = {
        {{2, 3, 4}, {}},  {{3, 4}, {0}},    {{4}, {0, 1}},
        {{}, {0, 1, 2}},  {{3, 1}, {0, 2}}, {{1, 3, 1}, {0, 2}},
        {{2, 1, 4}, {1}}, {{1}, {0, 1, 2}}, {{1, 1, 1}, {0, 1, 2}},
    };
    for (const auto& c : cases) {
      SCOPED_TRACE(affine::to_string(c.to));
      const Tensor got = affine::sum_to(a, c.to);
      EXPECT_EQ(got.shape(), c.to);
      EXPECT_FALSE(got.shares_storage(a));
      const Tensor ref = reference(Kind::sum, a, c.axes, true).reshape(c.to);
      expect_reduced(got, ref, dt);
    }
    // Broadcasting then summing back multiplies by the broadcast factor.
    const Tensor b = Tensor::of({1, 2, 3}, {3, 1}, dt);
    EXPECT_EQ(affine::sum_to(b.expand({2, 3, 5}), {3, 1}).to_vector<double>(),
              (std::vector<double>{10, 20, 30}));
    const Tensor p = a.permute({2, 1, 0});
    expect_reduced(affine::sum_to(p, {4, 1, 1}), reference(Kind::sum, p, {1, 2}, true), dt);
  }
  const Tensor a = Tensor::zeros({2, 3});
  EXPECT_EQ(error_of([&] { affine::sum_to(a, {2}); }),
            "sum_to: shape [2, 3] cannot be summed to [2] ([2] does not broadcast to [2, 3])");
  EXPECT_EQ(error_of([&] {
              affine::sum_to(a, {1, 2, 3});
            }),
            "sum_to: shape [2, 3] cannot be summed to [1, 2, 3] ([1, 2, 3] does not broadcast to "
            "[2, 3])");
  EXPECT_EQ(affine::sum_to(Tensor::zeros({0, 3}), {3}).to_vector<double>(),
            (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(affine::sum_to(Tensor::zeros({2, 0}), {2, 1}).to_vector<double>(),
            (std::vector<double>{0, 0}));
}

}  // namespace
