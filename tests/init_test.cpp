// Initialisers: fans as PyTorch computes them, and each distribution's bounds, mean and variance
// within statistical tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"

namespace {

using namespace affine;  // NOLINT(google-build-using-namespace)
namespace init = affine::nn::init;

struct Moments {
  double mean, var, min, max;
};

Moments moments(const Tensor& t) {
  const auto v = t.to_vector<double>();
  double s = 0, mn = v[0], mx = v[0];
  for (double x : v) {
    s += x;
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  const double mean = s / static_cast<double>(v.size());
  double q = 0;
  for (double x : v) q += (x - mean) * (x - mean);
  return {mean, q / static_cast<double>(v.size()), mn, mx};
}

TEST(Init, Fans) {
  const init::Fans linear = init::compute_fans({100, 2});
  EXPECT_EQ(linear.fan_in, 2);
  EXPECT_EQ(linear.fan_out, 100);
  const init::Fans conv = init::compute_fans({16, 3, 5, 5});  // [out, in, kh, kw]
  EXPECT_EQ(conv.fan_in, 3 * 25);
  EXPECT_EQ(conv.fan_out, 16 * 25);
  EXPECT_THROW(init::compute_fans({5}), Error);
  Generator gen(1);
  Tensor bias = Tensor::zeros({5});
  try {
    init::glorot_uniform_(bias, gen);
    FAIL() << "rank 1 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "init::glorot_uniform_: compute_fans: fans need a weight of rank >= 2, got shape [5]");
  }
  Tensor idx = Tensor::zeros({2, 2}, DType::i64);
  EXPECT_THROW(init::he_normal_(idx, gen), Error);
}

// Each initialiser on a [out=300, in=200] weight: 60,000 draws. The sample mean's standard error is
// sigma / 245 and the sample variance's relative error about sqrt(2 / 60000) = 0.6% (less for
// uniform draws), so 6 standard errors and 4% never fail by chance yet catch a wrong formula
// (the smallest confusion, fan_in vs fan_out or a factor sqrt(2), moves the variance by >= 33%).
TEST(Init, DistributionsMatchTheirFormulas) {
  const int64_t out = 300, in = 200;
  const double n = static_cast<double>(out * in);
  struct Case {
    std::string name;
    std::function<void(Tensor&, Generator&)> fill;
    double variance;
    double bound;  // 0 for normal draws
  };
  const double glorot_a = std::sqrt(6.0 / (in + out));
  const std::vector<Case> cases = {
      {"glorot_uniform", [](Tensor& t, Generator& g) { init::glorot_uniform_(t, g); },
       glorot_a * glorot_a / 3, glorot_a},
      {"glorot_uniform gain 2", [](Tensor& t, Generator& g) { init::xavier_uniform_(t, g, 2.0); },
       4 * glorot_a * glorot_a / 3, 2 * glorot_a},
      {"glorot_normal", [](Tensor& t, Generator& g) { init::glorot_normal_(t, g); },
       2.0 / (in + out), 0},
      {"he_uniform", [](Tensor& t, Generator& g) { init::he_uniform_(t, g); }, 2.0 / in,
       std::sqrt(6.0 / in)},
      {"he_uniform fan_out",
       [](Tensor& t, Generator& g) { init::kaiming_uniform_(t, g, init::FanMode::fan_out); },
       2.0 / out, std::sqrt(6.0 / out)},
      {"he_normal", [](Tensor& t, Generator& g) { init::he_normal_(t, g); }, 2.0 / in, 0},
      {"he_normal fan_out gain 1",
       [](Tensor& t, Generator& g) { init::he_normal_(t, g, init::FanMode::fan_out, 1.0); },
       1.0 / out, 0},
      {"lecun_uniform", [](Tensor& t, Generator& g) { init::lecun_uniform_(t, g); }, 1.0 / in,
       std::sqrt(3.0 / in)},
      {"lecun_normal", [](Tensor& t, Generator& g) { init::lecun_normal_(t, g); }, 1.0 / in, 0},
      {"uniform(-1, 3)", [](Tensor& t, Generator& g) { init::uniform_(t, -1, 3, g); }, 16.0 / 12,
       0},
      {"normal(0, 0.5)", [](Tensor& t, Generator& g) { init::normal_(t, 0, 0.5, g); }, 0.25, 0},
  };
  for (const auto& c : cases) {
    for (DType dtype : {DType::f32, DType::f64}) {
      SCOPED_TRACE(c.name + " " + std::string(dtype_name(dtype)));
      Generator gen(12345);
      Tensor w = Tensor::zeros({out, in}, dtype);
      c.fill(w, gen);
      const Moments m = moments(w);
      const double expected_mean = c.name == "uniform(-1, 3)" ? 1.0 : 0.0;
      EXPECT_NEAR(m.mean, expected_mean, 6 * std::sqrt(c.variance / n));
      EXPECT_NEAR(m.var / c.variance, 1.0, 0.04);
      if (c.bound > 0) {
        EXPECT_GE(m.min, -c.bound);
        EXPECT_LE(m.max, c.bound);
        // 60,000 uniform draws reach within 0.1% of each end.
        EXPECT_LT(m.min, -0.999 * c.bound);
        EXPECT_GT(m.max, 0.999 * c.bound);
      }
    }
  }
}

TEST(Init, SeededAndInPlace) {
  Tensor a = Tensor::zeros({20, 10});
  Tensor b = Tensor::zeros({20, 10});
  Tensor view = a;  // shares storage: initialisers write in place
  Generator g1(9), g2(9);
  init::he_uniform_(a, g1);
  init::he_uniform_(b, g2);
  EXPECT_TRUE(allclose(a, b, 0, 0));
  EXPECT_TRUE(allclose(view, a, 0, 0));
  init::he_uniform_(b, g2);
  EXPECT_FALSE(allclose(a, b));
}

TEST(Init, ZerosConstantAndLinearDefault) {
  Tensor t = Tensor::ones({3, 4});
  init::zeros_(t);
  EXPECT_EQ(max(abs(t)).item(), 0);
  init::constant_(t, 2.5);
  EXPECT_EQ(min(t).item(), 2.5);
  EXPECT_EQ(max(t).item(), 2.5);

  Tensor w = Tensor::zeros({400, 25});
  Tensor b = Tensor::zeros({400});
  Generator gen(3);
  init::linear_default_(w, b, gen);
  const Moments mw = moments(w), mb = moments(b);
  EXPECT_LE(mw.max, 0.2);
  EXPECT_GE(mw.min, -0.2);
  EXPECT_NEAR(mw.var / (0.04 / 3), 1.0, 0.04);  // U(-1/sqrt(25), 1/sqrt(25))
  EXPECT_LE(mb.max, 0.2);
  EXPECT_GE(mb.min, -0.2);
  EXPECT_GT(mb.max - mb.min, 0.3);
  Tensor none;
  init::linear_default_(w, none, gen);  // no bias is fine
  EXPECT_THROW(init::uniform_(t, 1, 0, gen), Error);
  EXPECT_THROW(init::normal_(t, 0, -1, gen), Error);
}

}  // namespace
