// Snapshot recording: what the network looks like after each epoch, kept in plain arrays so the
// figures and the page can be built after training without touching the model again.
#pragma once

#include <cstdint>
#include <vector>

#include <affine/affine.hpp>

namespace moons {

/// A regular grid over the input plane: nx * ny nodes spanning [x0, x1] x [y0, y1], row j (one y)
/// after another, as viz::Grid stores them.
struct GridSpec {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  int nx = 2, ny = 2;
};

/// One epoch's state (epoch 0 = before training).
struct Snapshot {
  int epoch = 0;
  double train_loss = 0, test_loss = 0;
  double train_accuracy = 0, test_accuracy = 0;
  /// The 2-D embedding (output of the second tanh) of every sample, [n, 2] row-major, in the
  /// order of Recorder::points (training samples first, then test samples).
  std::vector<float> embedding;
  /// The output layer's line w . z + b = 0 in the embedding plane.
  double w0 = 0, w1 = 0, b = 0;
  /// Every parameter, flattened in named_parameters() order: 0.weight [100, 2], 0.bias [100],
  /// 2.weight [2, 100], 2.bias [2], 4.weight [1, 2], 4.bias [1] (505 numbers). The page runs the
  /// network from these.
  std::vector<float> weights;
  /// p(class 1) on the fine figure grid (only at the figure epochs; empty otherwise).
  std::vector<float> figure_grid;
};

/// Everything the figures and the page need.
struct History {
  std::vector<double> xs, ys;  ///< every sample, training samples first
  std::vector<int> labels;     ///< 0 or 1
  int64_t n_train = 0;
  GridSpec figure_grid;
  std::vector<int> figure_epochs;   ///< the epochs shown as small multiples
  std::vector<Snapshot> snapshots;  ///< one per epoch, 0..epochs
};

/// Records snapshots of a 2-100-2-1 Sequential (Linear, Tanh, Linear, Tanh, Linear, Sigmoid).
class Recorder {
 public:
  Recorder(const affine::nn::data::Split& split, int epochs);

  /// Evaluates the network (no tape: inference on constants) and appends epoch's snapshot.
  /// Returns it, for the progress line.
  const Snapshot& record(affine::nn::Sequential& net, int epoch);

  const History& history() const { return history_; }

 private:
  affine::Tensor grid_points(const GridSpec& g) const;
  affine::Tensor x_train_, y_train_, x_test_, y_test_, x_all_;
  affine::Tensor figure_points_;
  History history_;
};

/// The figure epochs for a run of `epochs`: 0, 1, 5, 10, 25, 50, 100, 150 (those <= epochs), and
/// always the last epoch.
std::vector<int> figure_epochs(int epochs);

}  // namespace moons
