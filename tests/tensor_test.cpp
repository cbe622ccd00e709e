// The Tensor core: shapes, factories, element access, views, copies, printing, error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/tensor.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using affine::test::error_of;

#define EXPECT_ERROR(expr, substr)                                      \
  do {                                                                  \
    const std::string m_ = error_of([&] { (void)(expr); });             \
    EXPECT_NE(m_.find(substr), std::string::npos) << "message: " << m_; \
  } while (0)

std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }

Tensor iota(const Shape& shape, DType dtype = DType::f32) {
  return Tensor::arange(0, static_cast<double>(shape_numel(shape)), 1, dtype).reshape(shape);
}

// ---- Dims / shape helpers ------------------------------------------------------------------

TEST(Dims, RankLimitAndEditing) {
  Dims d{1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(d.size(), 8);
  EXPECT_ERROR((Dims{1, 2, 3, 4, 5, 6, 7, 8, 9}), "rank 9 exceeds the maximum rank 8");
  EXPECT_ERROR(Dims(std::vector<int64_t>(9, 1)), "rank 9");
  EXPECT_ERROR(d.push_back(9), "rank 9");
  EXPECT_ERROR(d.insert(0, 9), "rank 9");
  Dims e{1, 3};
  e.insert(1, 2);
  e.insert(3, 4);
  EXPECT_EQ(e, Dims({1, 2, 3, 4}));
  e.erase(0);
  EXPECT_EQ(e, Dims({2, 3, 4}));
  EXPECT_ERROR(e.erase(3), "out of range");
  EXPECT_EQ(to_string(Dims{}), "[]");
  EXPECT_EQ(to_string(Dims{3, 4}), "[3, 4]");
  std::ostringstream os;
  os << Dims{-1};
  EXPECT_EQ(os.str(), "[-1]");
}

TEST(Dims, NumelStridesAxes) {
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({0, int64_t{1} << 62, int64_t{1} << 62}), 0);  // empty, not overflow
  EXPECT_ERROR(shape_numel({int64_t{1} << 32, int64_t{1} << 32}, "myop"),
               "myop: shape [4294967296, 4294967296] has too many elements");
  EXPECT_ERROR(shape_numel({2, -3}, "myop"), "myop: shape [2, -3] has negative dimension -3");
  EXPECT_EQ(contiguous_strides({2, 3, 4}), Strides({12, 4, 1}));
  EXPECT_EQ(contiguous_strides({}), Strides{});
  EXPECT_EQ(normalize_axis(-1, 3, "op"), 2);
  EXPECT_EQ(normalize_axis(0, 3, "op"), 0);
  EXPECT_ERROR(normalize_axis(3, 3, "sum"), "sum: axis 3 is out of range for a tensor of rank 3");
  EXPECT_ERROR(normalize_axis(-4, 3, "sum"), "axis -4");
  EXPECT_ERROR(normalize_axis(0, 0, "sum"), "rank 0");
  EXPECT_EQ(dtype_name(DType::f32), "float32");
  EXPECT_EQ(dtype_name(DType::f64), "float64");
  EXPECT_EQ(dtype_name(DType::i64), "int64");
}

// ---- factories -----------------------------------------------------------------------------

TEST(Factories, Basic) {
  EXPECT_EQ(vals(Tensor::zeros({2, 2})), std::vector<double>(4, 0));
  EXPECT_EQ(vals(Tensor::ones({3}, DType::f64)), std::vector<double>(3, 1));
  EXPECT_EQ(vals(Tensor::full({2}, -2.5)), (std::vector<double>{-2.5, -2.5}));
  const Tensor s = Tensor::scalar(4, DType::i64);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 4);
  EXPECT_EQ(vals(Tensor::eye(3)), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(Tensor::eye(0).shape(), Shape({0, 0}));
  EXPECT_ERROR(Tensor::eye(-1), "Tensor::eye: n must be >= 0 (got -1)");
  EXPECT_ERROR(Tensor::zeros({2, -1}), "Tensor::empty: shape [2, -1] has negative dimension");
  EXPECT_ERROR(Tensor::zeros({int64_t{1} << 60, 4}),
               "Tensor::empty: shape [1152921504606846976, 4] of float32 needs more bytes");
  EXPECT_ERROR(Tensor::zeros({int64_t{1} << 62, 4}), "has too many elements");
}

TEST(Factories, ArangeAndLinspace) {
  EXPECT_EQ(vals(Tensor::arange(0, 5)), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(vals(Tensor::arange(5, 0, -2, DType::i64)), (std::vector<double>{5, 3, 1}));
  EXPECT_EQ(Tensor::arange(0, 1, 0.1, DType::f64).numel(), 10);
  EXPECT_EQ(Tensor::arange(3, 3).numel(), 0);
  EXPECT_EQ(Tensor::arange(3, 0).numel(), 0);
  EXPECT_ERROR(Tensor::arange(0, 1, 0), "Tensor::arange: step must not be zero");
  EXPECT_ERROR(Tensor::arange(0, INFINITY), "must be finite");
  EXPECT_ERROR(Tensor::arange(0, 1e300, 1e-300), "too many");
  const Tensor l = Tensor::linspace(0, 1, 5, DType::f64);
  EXPECT_EQ(vals(l), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  const Tensor l3 = Tensor::linspace(0, 0.3, 7, DType::f64);
  EXPECT_EQ(l3.get({6}), 0.3);  // the end point is exact
  EXPECT_EQ(vals(Tensor::linspace(2, 9, 1)), std::vector<double>{2});
  EXPECT_EQ(Tensor::linspace(2, 9, 0).numel(), 0);
  EXPECT_ERROR(Tensor::linspace(0, 1, -1), "Tensor::linspace: n must be >= 0 (got -1)");
}

TEST(Factories, FromVectorAndOf) {
  const Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.dtype(), DType::f32);
  EXPECT_EQ(a.get({1, 2}), 6);
  EXPECT_EQ(Tensor::from_vector(std::vector<double>{1, 2}).shape(), Shape({2}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int64_t>{7}).dtype(), DType::i64);
  EXPECT_EQ(Tensor::from_vector(std::vector<float>{}).shape(), Shape({0}));
  EXPECT_ERROR(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
               "Tensor::from_vector: 3 values do not fill shape [2, 2] (4 elements)");
  const Tensor b = Tensor::of({1, 2.7, -3.2}, {3}, DType::i64);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, -3}));  // truncates like C++
  EXPECT_ERROR(Tensor::of({NAN}, {1}, DType::i64), "value nan cannot be converted to int64");
  EXPECT_ERROR(Tensor::of({1e19}, {1}, DType::i64), "cannot be converted to int64");
  EXPECT_ERROR(Tensor::of({1, 2}, {3}), "Tensor::of: 2 values do not fill shape [3]");
}

TEST(Storage, SixtyFourByteAlignedEvenWhenEmpty) {
  for (int64_t n : {0, 1, 3, 17, 1000}) {
    const Tensor t = Tensor::empty({n});
    EXPECT_TRUE(t.defined());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u) << n;
  }
  EXPECT_FALSE(Tensor().defined());
}

// ---- metadata and element access ------------------------------------------------------------

TEST(Access, MetadataAndBoundsChecks) {
  Tensor t = iota({2, 3});
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_EQ(t.size(0), 2);
  EXPECT_ERROR(t.size(2), "Tensor::size: axis 2 is out of range for a tensor of rank 2");
  EXPECT_EQ(t.at<float>({1, 2}), 5);
  EXPECT_EQ(t.get({-1, -1}), 5);  // negative indices count from the end
  t.at<float>({0, 1}) = 10;
  t.set({1, 0}, 20);
  EXPECT_EQ(vals(t), (std::vector<double>{0, 10, 2, 20, 4, 5}));
  EXPECT_ERROR(t.at<float>({2, 5}),
               "Tensor::at: index [2, 5] is out of bounds for shape [2, 3] (dimension 0: 2 not "
               "in -2..1)");
  EXPECT_ERROR(t.get({0, 3}),
               "Tensor::get: index [0, 3] is out of bounds for shape [2, 3] "
               "(dimension 1: 3 not in -3..2)");
  EXPECT_ERROR(t.set({-3, 0}, 1), "index [-3, 0] is out of bounds");
  EXPECT_ERROR(t.get({1}), "Tensor::get: index [1] has 1 entries but the tensor has shape [2, 3]");
  EXPECT_ERROR(t.at<double>({0, 0}), "Tensor::data: requested float64 but the tensor is float32");
  EXPECT_ERROR(t.item(), "Tensor::item: the tensor has shape [2, 3] (6 elements)");
  EXPECT_ERROR(Tensor::zeros({0, 2}).get({0, 0}), "but the dimension is empty");
  EXPECT_EQ(Tensor::ones({1, 1, 1}).item(), 1);
  EXPECT_ERROR(Tensor().item(), "Tensor::item: the tensor is undefined");
  EXPECT_ERROR(Tensor().clone(), "Tensor::clone: the tensor is undefined");
  EXPECT_EQ(Tensor::scalar(2.5).get({}), 2.5);
}

// ---- views ---------------------------------------------------------------------------------

TEST(Views, TransposePermuteShareStorage) {
  const Tensor a = iota({2, 3});
  const Tensor t = a.t();
  EXPECT_TRUE(t.shares_storage(a));
  EXPECT_EQ(t.shape(), Shape({3, 2}));
  EXPECT_EQ(t.strides(), Strides({1, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(vals(t), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  const Tensor b = iota({2, 3, 4});
  const Tensor p = b.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), Shape({4, 2, 3}));
  EXPECT_EQ(p.get({3, 1, 2}), b.get({1, 2, 3}));
  EXPECT_EQ(b.permute({-1, 0, 1}).shape(), p.shape());
  EXPECT_ERROR(b.permute({0, 0, 1}), "Tensor::permute: dims [0, 0, 1] repeat dimension 0");
  EXPECT_ERROR(b.permute({0, 1}), "dims [0, 1] do not match shape [2, 3, 4]");
  EXPECT_ERROR(b.t(), "Tensor::t: expects a tensor of rank <= 2 but got shape [2, 3, 4]");
  EXPECT_EQ(b.transpose(0, 2).shape(), Shape({4, 3, 2}));
  EXPECT_ERROR(b.transpose(0, 3), "Tensor::transpose: axis 3");
  EXPECT_EQ(Tensor::ones({3}).t().shape(), Shape({3}));
}

TEST(Views, ReshapeViewVersusCopy) {
  const Tensor a = iota({2, 3, 4});
  const Tensor r = a.reshape({4, -1});
  EXPECT_TRUE(r.shares_storage(a));
  EXPECT_EQ(r.shape(), Shape({4, 6}));
  EXPECT_EQ(a.view({24}).get({23}), 23);
  // A transposed tensor cannot be flattened without a copy.
  const Tensor t = a.transpose(1, 2);
  const Tensor f = t.reshape({-1});
  EXPECT_FALSE(f.shares_storage(a));
  EXPECT_EQ(f.get({1}), 4);  // t[0][0][1] = a[0][1][0]
  EXPECT_ERROR(t.view({-1}),
               "Tensor::view: a tensor of shape [2, 4, 3] with strides [12, 1, 4] "
               "cannot be viewed as [24] without copying");
  // ...but splitting or merging dims that stay contiguous works as a view.
  const Tensor v = t.view({2, 2, 2, 3});
  EXPECT_TRUE(v.shares_storage(a));
  EXPECT_EQ(v.get({1, 1, 1, 2}), t.get({1, 3, 2}));
  const Tensor rows = iota({4, 6}).slice(0, 1, 3);  // rows 1..2 are one contiguous block
  EXPECT_TRUE(rows.view({12}).shares_storage(rows));
  EXPECT_EQ(rows.view({12}).get({0}), 6);
  EXPECT_ERROR(a.reshape({5, 5}),
               "Tensor::reshape: cannot reshape a tensor of shape [2, 3, 4] "
               "(24 elements) into [5, 5] (25 elements)");
  EXPECT_ERROR(a.reshape({-1, -1}), "has more than one -1");
  EXPECT_ERROR(a.reshape({5, -1}), "into [5, -1]");
  EXPECT_ERROR(a.reshape({-2, 12}), "negative dimension -2");
  EXPECT_EQ(Tensor::scalar(3).reshape({1, 1}).shape(), Shape({1, 1}));
  EXPECT_EQ(Tensor::ones({1, 1}).reshape({}).rank(), 0);
}

TEST(Views, SliceClampsLikePython) {
  const Tensor a = Tensor::arange(0, 10);
  EXPECT_EQ(vals(a.slice(0, 2, 5)), (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(vals(a.slice(0, -3, 100)), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(a.slice(0, -100, 100).numel(), 10);
  EXPECT_EQ(vals(a.slice(0, 1, 10, 4)), (std::vector<double>{1, 5, 9}));
  EXPECT_EQ(a.slice(0, 6, 2).numel(), 0);
  EXPECT_EQ(a.slice(0, 50, 60).numel(), 0);
  EXPECT_EQ(vals(a.slice(0, 0, INT64_MAX, INT64_MAX)), std::vector<double>{0});
  EXPECT_EQ(a.slice(0, INT64_MIN, INT64_MAX).numel(), 10);
  EXPECT_ERROR(a.slice(0, 0, 5, 0), "Tensor::slice: step must be >= 1 (got 0)");
  EXPECT_ERROR(a.slice(1, 0, 5), "Tensor::slice: axis 1 is out of range");
  // Slices of slices of transposes.
  const Tensor m = iota({4, 5}).t().slice(0, 1, 5, 2).slice(1, 1, 3);
  EXPECT_EQ(m.shape(), Shape({2, 2}));
  EXPECT_EQ(vals(m), (std::vector<double>{6, 11, 8, 13}));
  EXPECT_EQ(vals(iota({3, 4}).narrow(1, 1, 2)), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(iota({3, 4}).narrow(1, 4, 0).numel(), 0);
  EXPECT_ERROR(
      iota({3, 4}).narrow(1, 3, 2),
      "Tensor::narrow: start 3 and length 2 do not lie within dimension 1 of shape [3, 4]");
}

TEST(Views, IndexUnsqueezeSqueeze) {
  const Tensor a = iota({3, 2});
  EXPECT_EQ(vals(a[1]), (std::vector<double>{2, 3}));
  EXPECT_EQ(vals(a[-1]), (std::vector<double>{4, 5}));
  EXPECT_EQ(a[0][1].rank(), 0);
  EXPECT_EQ(a[2][1].item(), 5);
  EXPECT_ERROR(a[3],
               "Tensor::operator[]: index 3 is out of bounds for dimension 0 of shape [3, 2]");
  EXPECT_ERROR(Tensor::scalar(1)[0], "cannot index a rank-0 tensor");
  EXPECT_EQ(a.unsqueeze(0).shape(), Shape({1, 3, 2}));
  EXPECT_EQ(a.unsqueeze(2).shape(), Shape({3, 2, 1}));
  EXPECT_EQ(a.unsqueeze(-1).shape(), Shape({3, 2, 1}));
  EXPECT_EQ(vals(a.t().unsqueeze(1)), vals(a.t()));
  EXPECT_ERROR(a.unsqueeze(4), "Tensor::unsqueeze: axis 4");
  const Tensor r8 = Tensor::zeros({1, 2, 1, 2, 1, 2, 1, 2});
  EXPECT_ERROR(r8.unsqueeze(0), "already has the maximum rank 8");
  EXPECT_EQ(r8.squeeze().shape(), Shape({2, 2, 2, 2}));
  EXPECT_EQ(r8.squeeze(0).shape(), Shape({2, 1, 2, 1, 2, 1, 2}));
  EXPECT_ERROR(r8.squeeze(1),
               "Tensor::squeeze: dimension 1 of shape [1, 2, 1, 2, 1, 2, 1, 2] has size 2, not 1");
  EXPECT_EQ(Tensor::scalar(1).unsqueeze(0).shape(), Shape({1}));
  EXPECT_EQ(Tensor::ones({1, 1}).squeeze().rank(), 0);
}

TEST(Views, Expand) {
  const Tensor col = Tensor::of({1, 2, 3}, {3, 1});
  const Tensor e = col.expand({2, 3, 4});
  EXPECT_TRUE(e.shares_storage(col));
  EXPECT_EQ(e.strides(), Strides({0, 1, 0}));
  EXPECT_EQ(e.get({1, 2, 3}), 3);
  EXPECT_EQ(col.expand({-1, 5}).shape(), Shape({3, 5}));
  EXPECT_EQ(col.expand({3, 0}).numel(), 0);
  EXPECT_EQ(Tensor::scalar(7).expand({2, 2}).to_vector<float>(), std::vector<float>(4, 7));
  EXPECT_ERROR(col.expand({4, 4}),
               "Tensor::expand: cannot expand shape [3, 1] to [4, 4] (dimension 0: 3 vs 4)");
  EXPECT_ERROR(col.expand({4}),
               "cannot expand shape [3, 1] to [4] (the target has fewer dimensions)");
  EXPECT_ERROR(col.expand({-1, 3, 1}), "new leading size -1 must be >= 0");
  EXPECT_ERROR(col.expand({3, -2}), "dimension 1: 1 vs -2");
}

// ---- copies --------------------------------------------------------------------------------

TEST(Copies, ContiguousCloneTo) {
  const Tensor a = iota({2, 3});
  EXPECT_TRUE(a.contiguous().shares_storage(a));
  const Tensor tc = a.t().contiguous();
  EXPECT_TRUE(tc.is_contiguous());
  EXPECT_FALSE(tc.shares_storage(a));
  EXPECT_EQ(vals(tc), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor c = a.clone();
  c.set({0, 0}, 100);
  EXPECT_EQ(a.get({0, 0}), 0);  // clones are independent
  const Tensor e = Tensor::of({1, 2}, {2}).expand({3, 2}).contiguous();
  EXPECT_EQ(vals(e), (std::vector<double>{1, 2, 1, 2, 1, 2}));
  const Tensor d = a.t().to(DType::f64);
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_EQ(vals(d), vals(a.t()));
  EXPECT_TRUE(a.to(DType::f32).shares_storage(a));
  EXPECT_EQ(Tensor::of({-1.7, 2.9}, {2}).to(DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int64_t>{1, -2}).to(DType::f32).to_vector<float>(),
            (std::vector<float>{1, -2}));
  EXPECT_ERROR(Tensor::of({INFINITY}, {1}).to(DType::i64),
               "Tensor::copy_: value inf cannot be converted to int64");
}

TEST(Copies, FillAndCopyIntoViews) {
  Tensor a = Tensor::zeros({3, 4});
  a.slice(1, 1, 3).fill_(5);
  EXPECT_EQ(vals(a), (std::vector<double>{0, 5, 5, 0, 0, 5, 5, 0, 0, 5, 5, 0}));
  a.t()[0].copy_(Tensor::of({7, 8, 9}, {3}, DType::f64));  // column 0, converted, through a view
  EXPECT_EQ(vals(a.t()[0]), (std::vector<double>{7, 8, 9}));
  a.copy_(Tensor::of({1, 2, 3, 4}, {4}));  // broadcast over rows
  EXPECT_EQ(vals(a[2]), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_ERROR(a.copy_(Tensor::ones({3})),
               "Tensor::expand: cannot expand shape [3] to [3, 4] (dimension 1: 3 vs 4)");
  Tensor e = Tensor::zeros({1, 4}).expand({3, 4});
  EXPECT_ERROR(e.copy_(a), "Tensor::copy_: the destination of shape [3, 4] is an expanded view");
  // Overlapping source and destination: in-place transpose of a square matrix.
  Tensor sq = iota({3, 3});
  sq.copy_(sq.t());
  EXPECT_EQ(vals(sq), (std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8}));
  Tensor shifted = Tensor::arange(0, 6);
  shifted.slice(0, 1, 6).copy_(shifted.slice(0, 0, 5));
  EXPECT_EQ(vals(shifted), (std::vector<double>{0, 0, 1, 2, 3, 4}));
  // Large non-contiguous copies take the row loop.
  const Tensor big = iota({64, 33}, DType::f64).t();
  const Tensor bc = big.contiguous();
  for (int64_t i = 0; i < 33; ++i) {
    for (int64_t j = 0; j < 64; j += 7) ASSERT_EQ(bc.get({i, j}), static_cast<double>(j * 33 + i));
  }
}

TEST(Copies, ZeroSizeEverywhere) {
  const Tensor z = Tensor::zeros({0, 3});
  EXPECT_EQ(z.numel(), 0);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.t().shape(), Shape({3, 0}));
  EXPECT_EQ(z.reshape({3, 0, 5}).numel(), 0);
  EXPECT_EQ(z.reshape({-1}).shape(), Shape({0}));
  EXPECT_EQ(z.reshape({-1, 3}).shape(), Shape({0, 3}));
  EXPECT_ERROR(z.reshape({-1, 0}), "the -1 is ambiguous next to a zero dimension");
  EXPECT_EQ(z.t().contiguous().shape(), Shape({3, 0}));
  EXPECT_EQ(z.clone().numel(), 0);
  EXPECT_EQ(z.to(DType::i64).dtype(), DType::i64);
  EXPECT_EQ(z.slice(1, 1, 2).shape(), Shape({0, 1}));
  EXPECT_EQ(z.unsqueeze(0).shape(), Shape({1, 0, 3}));
  EXPECT_EQ(z.expand({2, 0, 3}).numel(), 0);
  EXPECT_TRUE(z.to_vector<float>().empty());
  Tensor zc = z.clone();
  zc.fill_(3).copy_(Tensor::scalar(1));
  EXPECT_EQ(to_string(z), "tensor([], dtype=float32, shape=[0, 3])");
  EXPECT_EQ(to_string(Tensor::zeros({0})), "tensor([], dtype=float32, shape=[0])");
  EXPECT_EQ(to_string(Tensor::zeros({2, 0})),
            "tensor([[],\n        []], dtype=float32, shape=[2, 0])");
  EXPECT_EQ(iota({4, 4}).slice(0, 4, 4).numel(), 0);
  EXPECT_EQ(iota({4, 4}).slice(0, 4, 4).reshape({0, 2, 2}).numel(), 0);
}

TEST(Ranks, RankZeroAndRankEight) {
  const Tensor s = Tensor::scalar(1.5, DType::f64);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.strides(), Strides{});
  EXPECT_TRUE(s.is_contiguous());
  EXPECT_EQ(s.clone().item(), 1.5);
  EXPECT_EQ(s.expand({3}).to_vector<double>(), std::vector<double>(3, 1.5));
  EXPECT_ERROR(s.transpose(0, 0),
               "Tensor::transpose: axis 0 is out of range for a tensor of rank 0");
  EXPECT_ERROR(s.size(0), "rank 0");
  const Shape s8{2, 1, 2, 1, 2, 1, 2, 3};
  Tensor t8 = iota(s8, DType::f64);
  EXPECT_EQ(t8.rank(), 8);
  const Tensor p8 = t8.permute({7, 6, 5, 4, 3, 2, 1, 0});
  EXPECT_EQ(p8.get({2, 1, 0, 1, 0, 1, 0, 1}), t8.get({1, 0, 1, 0, 1, 0, 1, 2}));
  EXPECT_EQ(p8.contiguous().permute({7, 6, 5, 4, 3, 2, 1, 0}).to_vector<double>(),
            t8.to_vector<double>());
  EXPECT_ERROR(Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), "rank 9 exceeds the maximum rank 8");
  EXPECT_ERROR(t8.reshape({1, 1, 1, 1, 1, 1, 1, 1, 48}), "rank 9");
}

TEST(Internal, TensorAccessMakeChecksBounds) {
  const Tensor a = iota({4});
  const auto& st = TensorAccess::storage(a);
  const Tensor v = TensorAccess::make(st, 1, {2}, {2}, DType::f32);
  EXPECT_EQ(vals(v), (std::vector<double>{1, 3}));
  EXPECT_ERROR(TensorAccess::make(st, 1, {3}, {2}, DType::f32), "reaches outside a storage of 4");
  EXPECT_ERROR(TensorAccess::make(st, 0, {3}, {2}, DType::f64), "reaches outside a storage of 2");
  EXPECT_ERROR(TensorAccess::make(st, 0, {3}, {}, DType::f32), "differ in rank");
}

// ---- printing ------------------------------------------------------------------------------

TEST(Printing, SmallTensors) {
  EXPECT_EQ(to_string(Tensor::of({1, 2, 3, 4}, {2, 2})),
            "tensor([[1., 2.],\n        [3., 4.]], dtype=float32, shape=[2, 2])");
  EXPECT_EQ(to_string(Tensor::of({1.5, -2.25}, {2})),
            "tensor([ 1.50, -2.25], dtype=float32, shape=[2])");
  EXPECT_EQ(to_string(Tensor::scalar(3.5)), "tensor(3.5, dtype=float32, shape=[])");
  EXPECT_EQ(to_string(Tensor::of({1, -20}, {2}, DType::i64)),
            "tensor([  1, -20], dtype=int64, shape=[2])");
  EXPECT_EQ(to_string(Tensor::of({1.0 / 3}, {1}, DType::f64)),
            "tensor([0.33333333], dtype=float64, shape=[1])");
  EXPECT_EQ(to_string(Tensor::of({1.0 / 3}, {1})), "tensor([0.3333], dtype=float32, shape=[1])");
  EXPECT_EQ(to_string(Tensor::of({NAN, INFINITY, -INFINITY, 1}, {4})),
            "tensor([ nan,  inf, -inf,   1.], dtype=float32, shape=[4])");
  EXPECT_EQ(to_string(Tensor::of({1e-5, 1}, {2})),
            "tensor([1.e-05, 1.e+00], dtype=float32, shape=[2])");
  EXPECT_EQ(to_string(Tensor::of({1.5e9, 2}, {2}, DType::f64)),
            "tensor([1.5e+09, 2.0e+00], dtype=float64, shape=[2])");
  EXPECT_EQ(to_string(iota({2, 2, 2}).permute({2, 1, 0})),
            "tensor([[[0., 4.],\n         [2., 6.]],\n\n        [[1., 5.],\n         [3., 7.]]], "
            "dtype=float32, shape=[2, 2, 2])");
  EXPECT_EQ(to_string(Tensor()), "tensor(undefined)");
  std::ostringstream os;
  os << Tensor::ones({1});
  EXPECT_EQ(os.str(), "tensor([1.], dtype=float32, shape=[1])");
}

TEST(Printing, LargeTensorsAreAbbreviated) {
  EXPECT_EQ(to_string(Tensor::arange(0, 2000)),
            "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], dtype=float32, "
            "shape=[2000])");
  // 1000 elements is still printed in full (wrapped at 80 columns).
  const std::string full = to_string(Tensor::arange(0, 1000));
  EXPECT_EQ(full.find("..."), std::string::npos);
  EXPECT_NE(full.find("999.]"), std::string::npos);
  std::istringstream lines(full);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("dtype") == std::string::npos) {
      EXPECT_LE(line.size(), 80u) << line;
    }
  }
  const std::string m = to_string(iota({100, 11}, DType::i64));
  EXPECT_EQ(m,
            "tensor([[   0,    1,    2, ...,    8,    9,   10],\n"
            "        [  11,   12,   13, ...,   19,   20,   21],\n"
            "        [  22,   23,   24, ...,   30,   31,   32],\n"
            "        ...,\n"
            "        [1067, 1068, 1069, ..., 1075, 1076, 1077],\n"
            "        [1078, 1079, 1080, ..., 1086, 1087, 1088],\n"
            "        [1089, 1090, 1091, ..., 1097, 1098, 1099]], dtype=int64, shape=[100, 11])");
  // Abbreviation applies per dimension: a long, thin transposed view.
  const std::string t = to_string(iota({2, 600}).t());
  EXPECT_NE(t.find("[   0.,  600.],\n        [   1.,  601.],"), std::string::npos) << t;
  EXPECT_NE(t.find("[ 599., 1199.]]"), std::string::npos) << t;
}

}  // namespace
}  // namespace affine
