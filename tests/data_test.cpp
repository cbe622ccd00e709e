// Datasets, train/test split and DataLoader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>
#include <vector>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"

namespace {

using namespace affine;            // NOLINT(google-build-using-namespace)
using namespace affine::nn::data;  // NOLINT(google-build-using-namespace)

TEST(MakeMoons, ShapeBalanceAndArcs) {
  for (int64_t n : {100, 101, 1, 0}) {
    SCOPED_TRACE(n);
    auto [x, y] = make_moons(n, 0.0, 42);
    ASSERT_EQ(x.shape(), Shape({n, 2}));
    ASSERT_EQ(y.shape(), Shape({n, 1}));
    EXPECT_EQ(x.dtype(), DType::f32);
    EXPECT_EQ(y.dtype(), DType::f32);
    int64_t outer = 0, inner = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double px = x.get({i, 0}), py = x.get({i, 1}), label = y.get({i, 0});
      if (label == 0) {
        ++outer;  // on (cos t, sin t), t in [0, pi]
        EXPECT_NEAR(px * px + py * py, 1.0, 1e-6) << i;
        EXPECT_GE(py, -1e-7);
      } else {
        ASSERT_EQ(label, 1);
        ++inner;  // on (1 - cos t, 1 - sin t - 0.5): centre (1, 0.5), lower half
        EXPECT_NEAR((px - 1) * (px - 1) + (py - 0.5) * (py - 0.5), 1.0, 1e-6) << i;
        EXPECT_LE(py, 0.5 + 1e-7);
      }
    }
    EXPECT_EQ(outer, n / 2);
    EXPECT_EQ(inner, n - n / 2);
  }
}

TEST(MakeMoons, UnshuffledOrderIsSklearns) {
  auto [x, y] = make_moons(10, 0.0, 0, /*shuffle=*/false);
  // Outer arc from t = 0 (1, 0) to t = pi (-1, 0), then inner from (0, 0.5) to (2, 0.5).
  EXPECT_FLOAT_EQ(x.get({0, 0}), 1.0f);
  EXPECT_NEAR(x.get({4, 0}), -1.0, 1e-7);
  EXPECT_NEAR(x.get({5, 0}), 0.0, 1e-7);
  EXPECT_NEAR(x.get({5, 1}), 0.5, 1e-7);
  EXPECT_NEAR(x.get({9, 0}), 2.0, 1e-7);
  // linspace(0, pi, 5)[1] = pi / 4.
  EXPECT_NEAR(x.get({1, 0}), std::cos(std::numbers::pi / 4), 1e-7);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(y.get({i, 0}), i < 5 ? 0 : 1);
}

TEST(MakeMoons, DeterministicBySeedAndNoisy) {
  auto a = make_moons(200, 0.1, 7);
  auto b = make_moons(200, 0.1, 7);
  auto c = make_moons(200, 0.1, 8);
  EXPECT_TRUE(allclose(a.x, b.x, 0, 0));
  EXPECT_TRUE(allclose(a.y, b.y, 0, 0));
  EXPECT_FALSE(allclose(a.x, c.x));
  Generator g(7);
  auto d = make_moons(200, 0.1, g);
  EXPECT_TRUE(allclose(a.x, d.x, 0, 0));
  // Noise 0.1 moves points off their arcs by about 0.1 on average.
  double dist = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const double px = a.x.get({i, 0}), py = a.x.get({i, 1});
    const double r = a.y.get({i, 0}) == 0 ? std::hypot(px, py) : std::hypot(px - 1, py - 0.5);
    dist += std::abs(r - 1);
  }
  dist /= 200;
  EXPECT_GT(dist, 0.03);
  EXPECT_LT(dist, 0.2);
  EXPECT_THROW(make_moons(-1, 0.0), Error);
  EXPECT_THROW(make_moons(10, -0.1), Error);
}

TEST(MakeCircles, Radii) {
  auto [x, y] = make_circles(101, 0.0, 0.5, 3);
  ASSERT_EQ(x.shape(), Shape({101, 2}));
  int64_t inner = 0;
  for (int64_t i = 0; i < 101; ++i) {
    const double r = std::hypot(x.get({i, 0}), x.get({i, 1}));
    const bool in = y.get({i, 0}) == 1;
    inner += in ? 1 : 0;
    EXPECT_NEAR(r, in ? 0.5 : 1.0, 1e-6);
  }
  EXPECT_EQ(inner, 51);
  EXPECT_THROW(make_circles(10, 0.0, 1.0), Error);
}

TEST(MakeSpiral, ClassesAndRadii) {
  const int64_t ppc = 50, classes = 3;
  auto [x, y] = make_spiral(ppc, classes, 5);
  ASSERT_EQ(x.shape(), Shape({ppc * classes, 2}));
  ASSERT_EQ(y.shape(), Shape({ppc * classes}));
  EXPECT_EQ(y.dtype(), DType::i64);
  for (int64_t c = 0; c < classes; ++c) {
    for (int64_t i = 0; i < ppc; ++i) {
      const int64_t row = c * ppc + i;
      EXPECT_EQ(y.at<int64_t>({row}), c);
      // The radius is linspace(0, 1)[i] whatever the angle noise.
      EXPECT_NEAR(std::hypot(x.get({row, 0}), x.get({row, 1})), static_cast<double>(i) / (ppc - 1),
                  1e-6);
    }
  }
  // Noise 0: class c's last point is at angle 2 pi (c + 2) / C, as (sin a, cos a).
  auto clean = make_spiral(ppc, classes, 5, 0.0);
  const double a = 2 * std::numbers::pi * 3 / 3;
  EXPECT_NEAR(clean.x.get({2 * ppc - 1, 0}), std::sin(a), 1e-6);
  EXPECT_NEAR(clean.x.get({2 * ppc - 1, 1}), std::cos(a), 1e-6);
  EXPECT_THROW(make_spiral(0, 3), Error);
}

TEST(TrainTestSplit, PartitionsRows) {
  const Tensor x = Tensor::arange(0, 20).reshape({10, 2});
  const Tensor y = Tensor::arange(0, 10, 1, DType::i64);
  const Split s = train_test_split(x, y, 0.25, 1);
  EXPECT_EQ(s.x_test.shape(), Shape({3, 2}));  // ceil(2.5)
  EXPECT_EQ(s.x_train.shape(), Shape({7, 2}));
  EXPECT_EQ(s.y_train.shape(), Shape({7}));
  std::set<int64_t> seen;
  auto check = [&](const Tensor& xs, const Tensor& ys) {
    for (int64_t i = 0; i < xs.size(0); ++i) {
      const auto label = ys.at<int64_t>({i});
      EXPECT_EQ(xs.get({i, 0}), 2.0 * static_cast<double>(label));  // rows stay paired
      EXPECT_TRUE(seen.insert(label).second);
    }
  };
  check(s.x_train, s.y_train);
  check(s.x_test, s.y_test);
  EXPECT_EQ(seen.size(), 10U);
  const Split again = train_test_split(x, y, 0.25, 1);
  EXPECT_TRUE(allclose(s.x_test, again.x_test, 0, 0));
  EXPECT_THROW(train_test_split(x, Tensor::zeros({9}), 0.25), Error);
  EXPECT_THROW(train_test_split(x, y, 1.5), Error);
}

// x rows are (i, -i) and y rows 10 i, so a batch shows which samples it holds and that x and y
// stay paired.
Tensor indexed_x(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(static_cast<double>(i));
    v.push_back(-static_cast<double>(i));
  }
  return Tensor::from_vector(v, {n, 2}).to(DType::f32);
}
Tensor indexed_y(int64_t n) {
  return mul(Tensor::arange(0, static_cast<double>(n)), 10.0).reshape({n, 1});
}

std::vector<std::vector<int64_t>> epoch_of(DataLoader& loader) {
  std::vector<std::vector<int64_t>> batches;
  for (auto [xb, yb] : loader) {
    EXPECT_TRUE(xb.is_contiguous());
    EXPECT_TRUE(yb.is_contiguous());
    EXPECT_EQ(xb.size(0), yb.size(0));
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < xb.size(0); ++i) {
      const auto id = static_cast<int64_t>(xb.get({i, 0}));
      EXPECT_EQ(xb.get({i, 1}), -static_cast<double>(id));
      EXPECT_EQ(yb.get({i, 0}), 10.0 * static_cast<double>(id));
      ids.push_back(id);
    }
    batches.push_back(ids);
  }
  return batches;
}

TEST(DataLoader, CoversEverySampleOncePerEpoch) {
  DataLoader loader(indexed_x(10), indexed_y(10), {.batch_size = 4, .seed = 3});
  EXPECT_EQ(loader.num_batches(), 3);
  std::vector<std::vector<int64_t>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) {
    const auto batches = epoch_of(loader);
    ASSERT_EQ(batches.size(), 3U);
    EXPECT_EQ(batches[0].size(), 4U);
    EXPECT_EQ(batches[1].size(), 4U);
    EXPECT_EQ(batches[2].size(), 2U);  // the partial last batch
    std::vector<int64_t> all;
    for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
    orders.push_back(all);
    std::sort(all.begin(), all.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  }
  EXPECT_EQ(loader.epoch(), 4);
  // Each epoch its own order; a loader with the same seed repeats the sequence of epochs.
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  DataLoader twin(indexed_x(10), indexed_y(10), {.batch_size = 4, .seed = 3});
  for (int epoch = 0; epoch < 4; ++epoch) {
    std::vector<int64_t> all;
    for (const auto& b : epoch_of(twin)) all.insert(all.end(), b.begin(), b.end());
    EXPECT_EQ(all, orders[static_cast<size_t>(epoch)]);
  }
  DataLoader other(indexed_x(10), indexed_y(10), {.batch_size = 4, .seed = 4});
  std::vector<int64_t> first;
  for (const auto& b : epoch_of(other)) first.insert(first.end(), b.begin(), b.end());
  EXPECT_NE(first, orders[0]);
}

TEST(DataLoader, DropLastAndNoShuffle) {
  DataLoader drop(indexed_x(10), indexed_y(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(drop.num_batches(), 2);
  const auto batches = epoch_of(drop);
  ASSERT_EQ(batches.size(), 2U);
  EXPECT_EQ(batches[1].size(), 4U);

  DataLoader ordered(indexed_x(5), indexed_y(5), {.batch_size = 2, .shuffle = false});
  EXPECT_EQ(epoch_of(ordered), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}}));
  EXPECT_EQ(epoch_of(ordered), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}}));

  DataLoader whole(indexed_x(3), indexed_y(3), {.batch_size = 100});
  EXPECT_EQ(epoch_of(whole).size(), 1U);
  DataLoader none(indexed_x(3), indexed_y(3), {.batch_size = 100, .drop_last = true});
  EXPECT_TRUE(epoch_of(none).empty());

  // Class-index targets [n] batch just as well.
  DataLoader labels(indexed_x(4), Tensor::arange(0, 4, 1, DType::i64), {.batch_size = 3});
  for (auto [xb, yb] : labels) {
    for (int64_t i = 0; i < xb.size(0); ++i) EXPECT_EQ(xb.get({i, 0}), yb.at<int64_t>({i}));
  }
  EXPECT_THROW(DataLoader(indexed_x(4), indexed_y(3)), Error);
  EXPECT_THROW(DataLoader(indexed_x(4), indexed_y(4), {.batch_size = 0}), Error);
}

}  // namespace
