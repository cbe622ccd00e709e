// Collectives on every dtype, odd sizes, empty and strided tensors, and mismatched calls (which
// must raise the same error on every rank rather than exchange mismatched bytes). Run with an odd
// number of ranks (3) so nothing relies on powers of two.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "affine/dist/dist.hpp"
#include "mpi_world.hpp"
#include "test_util.hpp"

using namespace affine;
using affine::test::error_of;

namespace {

// Element i of rank r's input: distinct across ranks and elements, exact in every dtype.
double value(int r, int64_t i) { return static_cast<double>((r + 1) * 10 + (i % 7) - 3 * r); }

Tensor input(const Shape& shape, DType dtype, int r) {
  Tensor t = Tensor::zeros(shape, dtype);
  Tensor flat = t.reshape({-1});
  for (int64_t i = 0; i < t.numel(); ++i) flat.set({i}, value(r, i));
  return t;
}

double expected(dist::ReduceOp op, int64_t i, int size, DType dtype) {
  double acc = value(0, i);
  for (int r = 1; r < size; ++r) {
    const double v = value(r, i);
    switch (op) {
      case dist::ReduceOp::sum:
      case dist::ReduceOp::mean:
        acc += v;
        break;
      case dist::ReduceOp::max:
        acc = std::max(acc, v);
        break;
      case dist::ReduceOp::min:
        acc = std::min(acc, v);
        break;
    }
  }
  if (op == dist::ReduceOp::mean) {
    acc = dtype == DType::i64 ? static_cast<double>(static_cast<int64_t>(acc) / size) : acc / size;
  }
  return acc;
}

const std::vector<DType> kDTypes = {DType::f32, DType::f64, DType::i64};
const std::vector<Shape> kShapes = {Shape{},     Shape{0},       Shape{1},   Shape{7},
                                    Shape{3, 5}, Shape{2, 0, 3}, Shape{1001}};

TEST(Collectives, RankAndSize) {
  const auto& w = world();
  EXPECT_GE(w.size(), 1);
  EXPECT_GE(w.rank(), 0);
  EXPECT_LT(w.rank(), w.size());
  const Tensor ranks = dist::all_gather(w, Tensor::scalar(w.rank(), DType::i64));
  for (int r = 0; r < w.size(); ++r) EXPECT_EQ(ranks.get({r}), r);
  w.barrier();
}

TEST(Collectives, AllReduceEveryOpDtypeAndShape) {
  const auto& w = world();
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      for (auto op :
           {dist::ReduceOp::sum, dist::ReduceOp::mean, dist::ReduceOp::max, dist::ReduceOp::min}) {
        Tensor t = input(shape, dtype, w.rank());
        dist::all_reduce(w, t, op);
        ASSERT_EQ(t.shape(), shape);
        ASSERT_EQ(t.dtype(), dtype);
        const Tensor flat = t.reshape({-1});
        for (int64_t i = 0; i < t.numel(); ++i) {
          ASSERT_DOUBLE_EQ(flat.get({i}), expected(op, i, w.size(), dtype))
              << dtype_name(dtype) << " " << to_string(shape) << " element " << i;
        }
      }
    }
  }
}

TEST(Collectives, AllReduceWritesThroughStridedViews) {
  const auto& w = world();
  Tensor base = input({4, 3}, DType::f64, w.rank());
  Tensor view = base.t();  // [3, 4], not contiguous
  dist::all_reduce(w, view, dist::ReduceOp::sum);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_DOUBLE_EQ(base.reshape({-1}).get({i}),
                     expected(dist::ReduceOp::sum, i, w.size(), DType::f64));
  }
}

TEST(Collectives, BroadcastFromEveryRoot) {
  const auto& w = world();
  for (int root = 0; root < w.size(); ++root) {
    for (DType dtype : kDTypes) {
      for (const Shape& shape : kShapes) {
        Tensor t = input(shape, dtype, w.rank());
        dist::broadcast(w, t, root);
        const Tensor want = input(shape, dtype, root);
        ASSERT_EQ(t.to_vector<double>(), want.to_vector<double>());
      }
    }
  }
}

TEST(Collectives, AllGatherStacksRanksInOrder) {
  const auto& w = world();
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      const Tensor g = dist::all_gather(w, input(shape, dtype, w.rank()));
      ASSERT_EQ(g.size(0), w.size());
      ASSERT_EQ(g.dtype(), dtype);
      for (int r = 0; r < w.size(); ++r) {
        ASSERT_EQ(g[r].shape(), shape);
        ASSERT_EQ(g[r].to_vector<double>(), input(shape, dtype, r).to_vector<double>());
      }
    }
  }
}

TEST(Collectives, ReduceScatterGivesEachRankItsSlice) {
  const auto& w = world();
  for (DType dtype : kDTypes) {
    for (int64_t k : {0, 1, 5}) {
      for (auto op : {dist::ReduceOp::sum, dist::ReduceOp::mean, dist::ReduceOp::max}) {
        const Shape shape{w.size() * k, 3};
        const Tensor out = dist::reduce_scatter(w, input(shape, dtype, w.rank()), op);
        ASSERT_EQ(out.shape(), (Shape{k, 3}));
        const Tensor flat = out.reshape({-1});
        for (int64_t i = 0; i < out.numel(); ++i) {
          ASSERT_DOUBLE_EQ(flat.get({i}), expected(op, w.rank() * k * 3 + i, w.size(), dtype));
        }
      }
    }
  }
}

TEST(Collectives, ReduceScatterNeedsADivisibleFirstDimension) {
  const auto& w = world();
  if (w.size() < 2) GTEST_SKIP() << "every size divides by one rank";
  const std::string msg =
      error_of([&] { dist::reduce_scatter(w, Tensor::zeros({w.size() * 2 + 1})); });
  EXPECT_NE(msg.find("reduce_scatter: tensor [" + std::to_string(w.size() * 2 + 1) + "]"),
            std::string::npos)
      << msg;
}

TEST(Collectives, MismatchedShapesAreReportedOnEveryRank) {
  const auto& w = world();
  if (w.size() < 2) GTEST_SKIP() << "needs two ranks";
  Tensor t = Tensor::zeros({3 + w.rank()});
  const std::string msg = error_of([&] { dist::all_reduce(w, t); });
  EXPECT_NE(msg.find("all_reduce: the ranks' calls do not match"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 0 called all_reduce float32 [3] sum"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 1 called all_reduce float32 [4] sum"), std::string::npos) << msg;
  // Nothing was exchanged, and the world is still usable.
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(static_cast<size_t>(3 + w.rank()), 0.0f));
  Tensor ok = Tensor::ones({2});
  dist::all_reduce(w, ok);
  EXPECT_EQ(ok.to_vector<float>(), std::vector<float>(2, static_cast<float>(w.size())));
}

TEST(Collectives, MismatchedDtypeRootOpAndCollectiveAreReported) {
  const auto& w = world();
  if (w.size() < 2) GTEST_SKIP() << "needs two ranks";
  Tensor t = Tensor::zeros({2}, w.rank() == 1 ? DType::f64 : DType::f32);
  EXPECT_NE(error_of([&] { dist::broadcast(w, t, 0); }).find("rank 1 called broadcast float64 [2]"),
            std::string::npos);
  Tensor u = Tensor::zeros({2});
  EXPECT_NE(error_of([&] {
              dist::broadcast(w, u, w.rank() == 1 ? 1 : 0);
            }).find("rank 1 called broadcast float32 [2] root 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              dist::all_reduce(w, u, w.rank() == 1 ? dist::ReduceOp::max : dist::ReduceOp::sum);
            }).find("rank 1 called all_reduce float32 [2] max"),
            std::string::npos);
  // Different collectives at the same point: rank 1 gathers while the others reduce.
  const std::string msg = error_of([&] {
    if (w.rank() == 1) {
      dist::all_gather(w, u);
    } else {
      dist::all_reduce(w, u);
    }
  });
  EXPECT_NE(msg.find("do not match"), std::string::npos) << msg;
  Tensor undefined;
  Tensor& arg = w.rank() == 1 ? undefined : u;
  EXPECT_NE(error_of([&] {
              dist::all_reduce(w, arg);
            }).find("rank 1 called all_reduce with an undefined tensor"),
            std::string::npos);
  EXPECT_NE(error_of([&] { dist::broadcast(w, u, w.size()); }).find("is not a rank"),
            std::string::npos);
}

TEST(Collectives, BroadcastNamedTensorsAndStrings) {
  const auto& w = world();
  std::vector<std::pair<std::string, Tensor>> named;
  std::string s;
  if (w.rank() == 0) {
    named = {{"step", Tensor::scalar(7, DType::i64)},
             {"0.exp_avg", Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64)},
             {"empty", Tensor::zeros({0, 4})}};
    s = std::string("hello\nworld", 11);
  } else {
    named = {{"junk", Tensor::ones({9})}};
  }
  dist::broadcast(w, named, 0);
  dist::broadcast(w, s, 0);
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].first, "step");
  EXPECT_EQ(named[0].second.dtype(), DType::i64);
  EXPECT_EQ(named[0].second.item(), 7);
  EXPECT_EQ(named[1].second.shape(), (Shape{2, 3}));
  EXPECT_EQ(named[1].second.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(named[2].second.shape(), (Shape{0, 4}));
  EXPECT_EQ(s, "hello\nworld");
}

}  // namespace
