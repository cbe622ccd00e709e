// The network's geometry, layer by layer: what each affine map and each squash does to the plane.
// Everything here is computed from the weights alone (a snapshot's 505 numbers or a checkpoint),
// with affine's tensors and affine::linalg (svd, eigh): the figures and geometry.json are drawn
// from these numbers, and the tests check them against the network's own forward pass.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <affine/affine.hpp>
#include <affine/tensor/linalg.hpp>

#include "record.hpp"

namespace moons {

inline constexpr int64_t kHidden = 100;  ///< units of the 100-D hidden layer
inline constexpr int64_t kSeedWeightCount = 505;

/// The seed network's parameters (float32, PyTorch's layout).
struct SeedWeights {
  affine::Tensor w0, b0;  ///< "0.weight" [100, 2], "0.bias" [100]
  affine::Tensor w2, b2;  ///< "2.weight" [2, 100], "2.bias" [2]
  affine::Tensor w4, b4;  ///< "4.weight" [1, 2], "4.bias" [1]
};

/// From a snapshot's 505 numbers (record.hpp's order). Throws affine::Error for another count or
/// a non-finite number (naming the tensor and the index).
SeedWeights seed_weights(const std::vector<float>& flat, const std::string& source);
/// From named tensors (e.g. a checkpoint): every name present, with the seed's shape and finite
/// values; throws affine::Error naming `source`, the tensor, and the shape found vs expected.
SeedWeights seed_weights(const affine::nn::NamedTensors& named, const std::string& source);
/// load_safetensors(path), then the checks above.
SeedWeights load_seed_weights(const std::string& path);

/// The forward pass stage by stage for points x [n, 2]: what layers.svg draws.
struct Stages {
  affine::Tensor pre1;       ///< W0 x + b0, [n, 100]
  affine::Tensor hidden;     ///< tanh of it, [n, 100]
  affine::Tensor pre2;       ///< W2 h + b2, [n, 2]
  affine::Tensor embedding;  ///< tanh of it, [n, 2]
  affine::Tensor logit;      ///< w4 . z + b4, [n, 1]
  affine::Tensor p;          ///< sigmoid of it, [n, 1]
};
Stages forward_stages(const SeedWeights& w, const affine::Tensor& x);

/// One Linear's W = U diag(S) Vh (reduced: k = min(out, in)), with a fixed sign convention so
/// the factors move smoothly over epochs: on a 2-D side, the first singular vector points into
/// the half-plane x > 0 (or along +y), and a 2x2 factor on that side is a rotation (det +1); any
/// reflection is carried by the other factor.
struct LinearSvd {
  std::string name;                     ///< the Sequential name: "0", "2" or "4"
  affine::Tensor U, S, Vh;              ///< float32, [out, k], [k], [k, in]
  std::vector<double> singular_values;  ///< S, descending
  /// Where the output side is 2-D: the angle (radians) of U's first column, atan2(U10, U00),
  /// and whether U reflects (det U < 0, 2x2 only).
  std::optional<double> u_angle;
  bool u_reflects = false;
  /// Where the input side is 2-D: the angle of V's first column (Vh's first row),
  /// atan2(Vh01, Vh00), and whether V reflects.
  std::optional<double> v_angle;
  bool v_reflects = false;
};
/// Throws affine::Error for a non-2-D or non-finite weight.
LinearSvd decompose(const std::string& name, const affine::Tensor& weight);

/// Principal components of rows x [n, d] (float64 covariance, linalg::eigh).
struct Pca {
  affine::Tensor mean;            ///< [d], float64
  affine::Tensor components;      ///< [k, d], float64: the top k principal directions, as rows
  std::vector<double> variances;  ///< top k eigenvalues of the covariance, descending
  std::vector<double> ratios;     ///< variances / total variance
  double total = 0;               ///< trace of the covariance
};
/// Throws affine::Error when n < 2, k > d, or the rows have zero variance (all equal): then there
/// are no principal directions to draw.
Pca pca(const affine::Tensor& x, int64_t k);
/// Rows x [n, d] as coordinates along pca's top two directions, about its mean: [n, 2] float64.
affine::Tensor project(const Pca& pca, const affine::Tensor& x);

/// Everything geometry.json holds for one epoch.
struct EpochGeometry {
  int epoch = 0;
  std::vector<LinearSvd> linears;  ///< "0", "2", "4"
  Pca hidden_pca;                  ///< of the 100-D tanh activations on the training set, top 5
  /// Principal angles (radians, ascending) between W2's row space and the span of the top two
  /// principal directions of the hidden activations: 0 when the network's 2-D projection keeps
  /// exactly the plane PCA would.
  std::array<double, 2> principal_angles{};
};
EpochGeometry epoch_geometry(const SeedWeights& w, const affine::Tensor& x_train, int epoch);
/// One per snapshot; throws affine::Error naming the epoch when its weights are not usable.
std::vector<EpochGeometry> history_geometry(const History& h);

/// The training points of h as an [n_train, 2] float32 tensor.
affine::Tensor train_points(const History& h);

/// geometry.json: per epoch, per Linear its singular values and the angles of its 2-D factors
/// (degrees), and the explained-variance ratios of the top five principal components.
std::string geometry_json(const std::vector<EpochGeometry>& g);

}  // namespace moons
