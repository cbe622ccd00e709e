// Snapshot recording: one inference pass per epoch over the samples and two grids of the plane.
#include "record.hpp"

#include <algorithm>
#include <cmath>

namespace moons {
namespace {

using affine::Tensor;
using affine::Var;

std::vector<float> floats(const Tensor& t) {
  return t.contiguous().to(affine::DType::f32).to_vector<float>();
}

// Fraction of rows where (p >= 0.5) equals the 0/1 label.
double accuracy(const Tensor& p, const Tensor& y) {
  const auto pv = floats(p);
  const auto yv = floats(y);
  int64_t right = 0;
  for (size_t i = 0; i < pv.size(); ++i) right += ((pv[i] >= 0.5f) == (yv[i] >= 0.5f)) ? 1 : 0;
  return pv.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(pv.size());
}

double bce(const Tensor& p, const Tensor& y) {
  return affine::nn::BCELoss()(Var(p), Var(y)).value().item();
}

// Round outwards to a multiple of 0.25, so the extent reads well on an axis.
double round_down(double v) { return std::floor(v * 4.0) / 4.0; }
double round_up(double v) { return std::ceil(v * 4.0) / 4.0; }

GridSpec grid_over(const std::vector<double>& xs, const std::vector<double>& ys, int nx) {
  const auto [xmin, xmax] = std::minmax_element(xs.begin(), xs.end());
  const auto [ymin, ymax] = std::minmax_element(ys.begin(), ys.end());
  const double padx = 0.08 * (*xmax - *xmin), pady = 0.08 * (*ymax - *ymin);
  GridSpec g;
  g.x0 = round_down(*xmin - padx);
  g.x1 = round_up(*xmax + padx);
  g.y0 = round_down(*ymin - pady);
  g.y1 = round_up(*ymax + pady);
  g.nx = nx;
  g.ny = std::max(2, static_cast<int>(std::lround((nx - 1) * (g.y1 - g.y0) / (g.x1 - g.x0))) + 1);
  return g;
}

}  // namespace

std::vector<int> figure_epochs(int epochs) {
  std::vector<int> out;
  for (int e : {0, 1, 5, 10, 25, 50, 100, 150})
    if (e < epochs) out.push_back(e);
  out.push_back(epochs);
  return out;
}

Recorder::Recorder(const affine::nn::data::Split& split, int epochs)
    : x_train_(split.x_train),
      y_train_(split.y_train),
      x_test_(split.x_test),
      y_test_(split.y_test) {
  x_all_ = affine::concat(std::vector<Tensor>{x_train_, x_test_}, 0).contiguous();
  const Tensor y_all = affine::concat(std::vector<Tensor>{y_train_, y_test_}, 0);
  const auto xv = floats(x_all_);
  const auto yv = floats(y_all);
  const size_t n = yv.size();
  history_.xs.resize(n);
  history_.ys.resize(n);
  history_.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    history_.xs[i] = xv[2 * i];
    history_.ys[i] = xv[2 * i + 1];
    history_.labels[i] = yv[i] >= 0.5f ? 1 : 0;
  }
  history_.n_train = x_train_.size(0);
  history_.figure_grid = grid_over(history_.xs, history_.ys, 81);
  history_.figure_epochs = figure_epochs(epochs);
  figure_points_ = grid_points(history_.figure_grid);
  history_.snapshots.reserve(static_cast<size_t>(epochs) + 1);
}

Tensor Recorder::grid_points(const GridSpec& g) const {
  std::vector<float> pts;
  pts.reserve(static_cast<size_t>(g.nx) * static_cast<size_t>(g.ny) * 2);
  for (int j = 0; j < g.ny; ++j) {
    for (int i = 0; i < g.nx; ++i) {
      pts.push_back(static_cast<float>(g.x0 + (g.x1 - g.x0) * i / (g.nx - 1)));
      pts.push_back(static_cast<float>(g.y0 + (g.y1 - g.y0) * j / (g.ny - 1)));
    }
  }
  return Tensor::from_vector(pts, {static_cast<int64_t>(g.nx) * g.ny, 2});
}

const Snapshot& Recorder::record(affine::nn::Sequential& net, int epoch) {
  Snapshot s;
  s.epoch = epoch;
  // Constants in, constants out: nothing is recorded on any tape.
  const std::vector<Var> layers = net.forward_all(Var(x_all_));
  const Tensor embedding = layers[3].value();
  const Tensor p = layers[5].value();
  const int64_t n_train = history_.n_train;
  const int64_t n_all = x_all_.size(0);
  const Tensor p_train = p.slice(0, 0, n_train).contiguous();
  const Tensor p_test = p.slice(0, n_train, n_all).contiguous();
  s.train_loss = bce(p_train, y_train_);
  s.test_loss = bce(p_test, y_test_);
  s.train_accuracy = accuracy(p_train, y_train_);
  s.test_accuracy = accuracy(p_test, y_test_);
  s.embedding = floats(embedding);

  auto& out = net.at<affine::nn::Linear>(4);
  const auto w = floats(out.weight.value);
  s.w0 = w[0];
  s.w1 = w[1];
  s.b = floats(out.bias.value)[0];

  for (auto* param : net.parameters()) {
    const auto v = floats(param->value);
    s.weights.insert(s.weights.end(), v.begin(), v.end());
  }
  const auto& fe = history_.figure_epochs;
  if (std::find(fe.begin(), fe.end(), epoch) != fe.end())
    s.figure_grid = floats(net.forward(Var(figure_points_)).value());
  history_.snapshots.push_back(std::move(s));
  return history_.snapshots.back();
}

}  // namespace moons
