// examples/moons' geometry: the SVD of every Linear at every recorded epoch, the PCA of the hidden
// layer, the stage-by-stage forward pass that layers.svg draws (against the network's own
// forward), geometry.json, the figures, and the errors for unusable weights.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include <affine/affine.hpp>
#include <affine/tensor/linalg.hpp>
#include <affine/viz/boundary.hpp>
#include <nlohmann/json.hpp>

#include "figures.hpp"
#include "geometry.hpp"
#include "geometry_figures.hpp"
#include "record.hpp"
#include "test_util.hpp"

namespace {

using namespace affine;
using affine::test::error_of;

std::vector<double> doubles(const Tensor& t) {
  return t.contiguous().to(DType::f64).to_vector<double>();
}

// A short real run (small, so it stays fast under the sanitizers): the recorded history and the
// trained network.
struct Run {
  nn::Sequential net{nn::Linear(2, 100), nn::Tanh(),       nn::Linear(100, 2),
                     nn::Tanh(),         nn::Linear(2, 1), nn::Sigmoid()};
  moons::History history;
  nn::data::Split split;
};

Run& run() {
  static Run* r = [] {
    auto* out = new Run;
    Generator gen(3);
    const auto data = nn::data::make_moons(160, 0.1, gen);
    out->split = nn::data::train_test_split(data.x, data.y, 0.2, gen);
    moons::Recorder rec(out->split, 4);
    nn::optim::Adam opt(out->net.parameters(), {.lr = 0.02});
    nn::data::DataLoader loader(out->split.x_train, out->split.y_train,
                                {.batch_size = 32, .shuffle = true, .seed = 3});
    rec.record(out->net, 0);
    Tape tape;
    for (int epoch = 1; epoch <= 4; ++epoch) {
      for (auto [xb, yb] : loader) {
        tape.clear();
        opt.zero_grad();
        const Var loss = nn::BCELoss()(out->net(tape.leaf(xb, false)), Var(yb));
        loss.backward();
        opt.step();
      }
      rec.record(out->net, epoch);
    }
    out->history = rec.history();
    return out;
  }();
  return *r;
}

const std::vector<moons::EpochGeometry>& geometry() {
  static const auto g = moons::history_geometry(run().history);
  return g;
}

double frobenius(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x * x;
  return std::sqrt(s);
}

TEST(MoonsGeometry, EveryLinearIsUDiagSVhAtEveryEpochInFloat32) {
  const auto& h = run().history;
  ASSERT_EQ(geometry().size(), h.snapshots.size());
  for (const auto& e : geometry()) {
    const auto w = moons::seed_weights(h.snapshots[static_cast<size_t>(e.epoch)].weights, "test");
    const std::vector<Tensor> weights = {w.w0, w.w2, w.w4};
    ASSERT_EQ(e.linears.size(), 3u);
    for (size_t l = 0; l < 3; ++l) {
      const auto& d = e.linears[l];
      EXPECT_EQ(d.U.dtype(), DType::f32);
      // U diag(S) Vh, in float32 as stored.
      const Tensor rebuilt = matmul(d.U * d.S, d.Vh);
      const auto diff = doubles(rebuilt - weights[l]);
      const double rel = frobenius(diff) / frobenius(doubles(weights[l]));
      EXPECT_LE(rel, 1e-5) << "layer " << d.name << " epoch " << e.epoch;
      // Descending, non-negative; orthonormal factors.
      for (size_t i = 0; i + 1 < d.singular_values.size(); ++i)
        EXPECT_GE(d.singular_values[i], d.singular_values[i + 1]);
      EXPECT_GE(d.singular_values.back(), 0);
      const int64_t k = d.S.size(0);
      EXPECT_TRUE(allclose(matmul(d.U.transpose(0, 1), d.U), Tensor::eye(k), 0, 1e-5));
      EXPECT_TRUE(allclose(matmul(d.Vh, d.Vh.transpose(0, 1)), Tensor::eye(k), 0, 1e-5));
    }
  }
}

TEST(MoonsGeometry, AnglesAreAtan2OfTheFactorsAndTheTwoDSideIsARotation) {
  for (const auto& e : geometry()) {
    const auto& l0 = e.linears[0];  // 100x2: V is the 2-D side
    const auto& l2 = e.linears[1];  // 2x100: U is the 2-D side
    const auto& l4 = e.linears[2];  // 1x2: V's one row
    ASSERT_TRUE(l0.v_angle && !l0.u_angle && l2.u_angle && !l2.v_angle && l4.v_angle);
    const auto v0 = doubles(l0.Vh), u2 = doubles(l2.U), v4 = doubles(l4.Vh);
    EXPECT_DOUBLE_EQ(*l0.v_angle, std::atan2(v0[1], v0[0]));
    EXPECT_DOUBLE_EQ(*l2.u_angle, std::atan2(u2[2], u2[0]));
    EXPECT_DOUBLE_EQ(*l4.v_angle, std::atan2(v4[1], v4[0]));
    // The convention: first vector in the right half-plane, the 2x2 factor a rotation.
    for (const double a : {*l0.v_angle, *l2.u_angle, *l4.v_angle}) {
      EXPECT_GT(a, -std::numbers::pi / 2 - 1e-12);
      EXPECT_LE(a, std::numbers::pi / 2 + 1e-12);
    }
    EXPECT_FALSE(l0.v_reflects);
    EXPECT_FALSE(l2.u_reflects);
    EXPECT_NEAR(v0[0] * v0[3] - v0[1] * v0[2], 1.0, 1e-5);
    EXPECT_NEAR(u2[0] * u2[3] - u2[1] * u2[2], 1.0, 1e-5);
  }
}

TEST(MoonsGeometry, AReflectionIsCarriedByTheOtherFactor) {
  // diag(2, -1): singular values 2, 1; V a rotation, so U must reflect.
  const auto d = moons::decompose("r", Tensor::of({2, 0, 0, -1}, {2, 2}, DType::f64));
  EXPECT_NEAR(d.singular_values[0], 2, 1e-12);
  EXPECT_NEAR(d.singular_values[1], 1, 1e-12);
  EXPECT_FALSE(d.v_reflects);
  EXPECT_TRUE(d.u_reflects);
  EXPECT_NEAR(*d.v_angle, 0, 1e-12);
}

TEST(MoonsGeometry, PcaRatiosSumToAtMostOneAndMatchEighOfTheCovariance) {
  const auto& h = run().history;
  const Tensor x = moons::train_points(h);
  for (const auto& e : geometry()) {
    const auto& p = e.hidden_pca;
    ASSERT_EQ(p.ratios.size(), 5u);
    double sum = 0;
    for (size_t i = 0; i < 5; ++i) {
      sum += p.ratios[i];
      EXPECT_GE(p.ratios[i], 0);
      if (i > 0) {
        EXPECT_LE(p.ratios[i], p.ratios[i - 1]);
      }
    }
    EXPECT_LE(sum, 1.0 + 1e-12);
    // The covariance by hand (two passes over the rows), then eigvalsh.
    const auto w = moons::seed_weights(h.snapshots[static_cast<size_t>(e.epoch)].weights, "t");
    const auto a = doubles(moons::forward_stages(w, x).hidden);
    const size_t n = static_cast<size_t>(x.size(0)), d = 100;
    std::vector<double> mean(d, 0), cov(d * d, 0);
    for (size_t r = 0; r < n; ++r)
      for (size_t c = 0; c < d; ++c) mean[c] += a[r * d + c] / static_cast<double>(n);
    for (size_t r = 0; r < n; ++r)
      for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j < d; ++j)
          cov[i * d + j] +=
              (a[r * d + i] - mean[i]) * (a[r * d + j] - mean[j]) / static_cast<double>(n - 1);
    double trace = 0;
    for (size_t i = 0; i < d; ++i) trace += cov[i * d + i];
    const auto ev = doubles(linalg::eigvalsh(
        Tensor::from_vector(cov, {static_cast<int64_t>(d), static_cast<int64_t>(d)})));
    for (size_t i = 0; i < 5; ++i)
      EXPECT_NEAR(p.ratios[i], ev[d - 1 - i] / trace, 1e-9) << "epoch " << e.epoch << " PC" << i;
    for (const double angle : e.principal_angles) {
      EXPECT_GE(angle, 0);
      EXPECT_LE(angle, std::numbers::pi / 2 + 1e-12);
    }
  }
}

TEST(MoonsGeometry, TheGridThroughTheDrawnStagesLandsWhereTheNetworkPutsIt) {
  auto& r = run();
  const auto& h = r.history;
  const moons::PlaneGrid grid = moons::plane_grid(h.figure_grid, 0.5, 9);
  std::vector<float> pts;
  for (size_t l = 0; l < grid.xs.size(); ++l)
    for (size_t i = 0; i < grid.xs[l].size(); ++i) {
      pts.push_back(static_cast<float>(grid.xs[l][i]));
      pts.push_back(static_cast<float>(grid.ys[l][i]));
    }
  const Tensor x = Tensor::from_vector(pts, {static_cast<int64_t>(pts.size() / 2), 2});
  // The last snapshot holds the trained network's weights.
  const auto w = moons::seed_weights(h.snapshots.back().weights, "last");
  const auto s = moons::forward_stages(w, x);
  const std::vector<Var> net = r.net.forward_all(Var(x));
  const std::vector<Tensor> ours = {s.pre1, s.hidden, s.pre2, s.embedding, s.logit, s.p};
  for (size_t k = 0; k < ours.size(); ++k)
    EXPECT_TRUE(allclose(ours[k], net[k].value(), 0, 1e-6)) << "stage " << k;
  // The drawn 100-D stages are orthogonal projections: lengths along the PCs never exceed the
  // point's distance from the mean.
  const auto p = moons::pca(s.hidden, 2);
  const auto proj = doubles(moons::project(p, s.hidden));
  const auto hid = doubles(s.hidden), mean = doubles(p.mean);
  for (size_t i = 0; i < proj.size() / 2; ++i) {
    double d2 = 0;
    for (size_t j = 0; j < 100; ++j) d2 += std::pow(hid[i * 100 + j] - mean[j], 2);
    EXPECT_LE(proj[2 * i] * proj[2 * i] + proj[2 * i + 1] * proj[2 * i + 1], d2 * (1 + 1e-9));
  }
}

TEST(MoonsGeometry, JsonIsDeterministicAndHoldsEveryEpoch) {
  const std::string a = moons::geometry_json(geometry());
  EXPECT_EQ(a, moons::geometry_json(moons::history_geometry(run().history)));
  const auto doc = nlohmann::json::parse(a);
  ASSERT_EQ(doc["epochs"].size(), run().history.snapshots.size());
  const auto& e = doc["epochs"].back();
  EXPECT_EQ(e["linear"]["0"]["singular_values"].size(), 2u);
  EXPECT_EQ(e["linear"]["4"]["singular_values"].size(), 1u);
  EXPECT_TRUE(e["linear"]["0"].contains("v_angle_deg"));
  EXPECT_FALSE(e["linear"]["0"].contains("u_angle_deg"));
  EXPECT_TRUE(e["linear"]["2"].contains("u_angle_deg"));
  EXPECT_EQ(e["hidden_pca_variance_ratio"].size(), 5u);
}

TEST(MoonsGeometry, FiguresRender) {
  const auto& h = run().history;
  moons::Options o;
  for (const auto& svg :
       {moons::layers_figure(h, geometry()).svg(), moons::hidden_figure(h, geometry()).svg(),
        moons::svd_figure(geometry(), moons::fig3_map(o)).svg()}) {
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos);
  }
}

TEST(MoonsGeometry, WrongShapesInAModelFileAreNamed) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("moons_geometry_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "wrong.safetensors").string();
  nn::Sequential other{nn::Linear(2, 50), nn::Tanh(),       nn::Linear(50, 2),
                       nn::Tanh(),        nn::Linear(2, 1), nn::Sigmoid()};
  nn::save(other, path);
  const std::string msg = error_of([&] { moons::load_seed_weights(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("'0.weight' has shape [50, 2], expected [100, 2]"), std::string::npos) << msg;
  // The right model loads and matches its parameters.
  nn::save(run().net, path);
  const auto w = moons::load_seed_weights(path);
  EXPECT_TRUE(allclose(w.w2, run().net.at<nn::Linear>(2).weight.value, 0, 0));
  std::filesystem::remove_all(dir);
}

TEST(MoonsGeometry, NonFiniteWeightsAreRefusedNotDrawn) {
  auto flat = run().history.snapshots.back().weights;
  flat[201] = std::numeric_limits<float>::quiet_NaN();  // 0.bias[1]
  const std::string msg = error_of([&] { moons::seed_weights(flat, "epoch 7"); });
  EXPECT_NE(msg.find("epoch 7: 0.bias holds a non-finite value"), std::string::npos) << msg;
  // Through the whole pipeline: the history's geometry names the epoch.
  moons::History h = run().history;
  h.snapshots[2].weights = flat;
  const std::string m2 = error_of([&] { moons::history_geometry(h); });
  EXPECT_NE(m2.find("epoch 2"), std::string::npos) << m2;
  EXPECT_NE(error_of([&] { moons::seed_weights(std::vector<float>(504), "x"); }).find("505"),
            std::string::npos);
  // viz's decision boundary refuses a non-finite function instead of drawing garbage.
  try {
    viz::decision_boundary([](double, double) { return std::nan(""); });
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
}

TEST(MoonsGeometry, ZeroVarianceActivationsHaveNoPrincipalDirections) {
  const std::string msg = error_of([] { moons::pca(Tensor::ones({10, 100}), 2); });
  EXPECT_NE(msg.find("zero variance"), std::string::npos) << msg;
  // A network whose first layer is all zeros maps every point to the same hidden vector.
  auto w = moons::seed_weights(run().history.snapshots.back().weights, "w");
  w.w0 = Tensor::zeros({100, 2});
  const std::string m2 =
      error_of([&] { moons::epoch_geometry(w, moons::train_points(run().history), 9); });
  EXPECT_NE(m2.find("zero variance"), std::string::npos) << m2;
}

}  // namespace
