// Normalisation layers, as torch.nn.LayerNorm, BatchNorm1d and BatchNorm2d.
//
// BatchNorm keeps running statistics as buffers named as in PyTorch's state_dict
// ("running_mean", "running_var", "num_batches_tracked"), so they are saved and loaded with the
// model. In train() it normalises by the batch's statistics and updates the running ones
// (running = (1 - momentum) running + momentum batch, the variance unbiased; without a momentum,
// their cumulative average over all batches); in eval() it normalises by the running statistics.
// With track_running_stats = false there are no running statistics (and no buffers): it
// normalises by the batch's statistics in train() and eval() alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/shape.hpp"

namespace affine::nn {

/// Normalises over the trailing dimensions normalized_shape, then (elementwise_affine) scales by
/// weight (ones) and shifts by bias (zeros), both of shape normalized_shape.
class AFFINE_API LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     DType dtype = DType::f32);
  /// x [*, normalized_shape...] -> same shape. Throws affine::Error naming the layer and the
  /// shapes when x does not end in normalized_shape.
  Var forward(const Var& x) override;
  /// "LayerNorm((5, 6), eps=1e-05, elementwise_affine=True)".
  std::string name() const override;

  Parameter weight;  ///< normalized_shape; undefined without elementwise_affine
  Parameter bias;    ///< normalized_shape; undefined without elementwise_affine

 private:
  Shape shape_;
  double eps_;
};

/// Options shared by BatchNorm1d and BatchNorm2d (PyTorch's defaults).
struct BatchNormOptions {
  double eps = 1e-5;
  /// The weight of each batch in the running statistics, in [0, 1]; std::nullopt (PyTorch's
  /// momentum=None): their cumulative average, weight 1 / num_batches_tracked.
  std::optional<double> momentum = 0.1;
  bool affine = true;               ///< learnable weight (ones) and bias (zeros)
  bool track_running_stats = true;  ///< false: batch statistics always, no buffers
  DType dtype = DType::f32;
};

/// Batch normalisation per channel (dimension 1); the base of BatchNorm1d and BatchNorm2d.
class AFFINE_API BatchNormBase : public Module {
 public:
  Var forward(const Var& x) override;
  std::string name() const override;
  int64_t num_features() const { return features_; }

  Parameter weight;            ///< [C]; undefined without affine
  Parameter bias;              ///< [C]; undefined without affine
  Tensor running_mean;         ///< [C], zeros at first; undefined without track_running_stats
  Tensor running_var;          ///< [C], ones at first; undefined without track_running_stats
  Tensor num_batches_tracked;  ///< int64 scalar: training forward passes so far (likewise)

 protected:
  BatchNormBase(const char* kind, int64_t num_features, const BatchNormOptions& options,
                int min_rank, int max_rank);

 private:
  const char* kind_;
  int64_t features_;
  BatchNormOptions options_;
  int min_rank_, max_rank_;
};

/// Batch normalisation of [N, C] or [N, C, L] input.
class AFFINE_API BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase("BatchNorm1d", num_features, options, 2, 3) {}
};

/// Batch normalisation of [N, C, H, W] input.
class AFFINE_API BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase("BatchNorm2d", num_features, options, 4, 4) {}
};

}  // namespace affine::nn
