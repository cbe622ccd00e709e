// Loss functions as differentiable ops, with PyTorch's definitions and reductions.
#pragma once

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine {

/// How a loss combines its per-element values.
enum class Reduction { mean, sum, none };

/// Binary cross-entropy on probabilities p in [0, 1] against targets y (same shape):
/// -(y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch does, so p = 0 or 1 gives
/// a finite loss. Throws affine::Error for p outside [0, 1] or differing shapes.
AFFINE_API Var binary_cross_entropy(const Var& p, const Var& y,
                                    Reduction reduction = Reduction::mean);

/// BCE on logits x, stable for any x: max(x, 0) - x y + log1p(exp(-|x|)).
AFFINE_API Var binary_cross_entropy_with_logits(const Var& x, const Var& y,
                                                Reduction reduction = Reduction::mean);

/// Mean squared error (pred - target)^2; shapes must match.
AFFINE_API Var mse_loss(const Var& pred, const Var& target, Reduction reduction = Reduction::mean);

/// Cross-entropy of logits [n, classes] against int64 class indices [n] (each in
/// [0, classes)): -log_softmax(logits)[i, target_i]. Out-of-range targets throw affine::Error.
AFFINE_API Var cross_entropy(const Var& logits, const Tensor& targets,
                             Reduction reduction = Reduction::mean);

}  // namespace affine
