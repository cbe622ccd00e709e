// Loss functions as differentiable ops, with PyTorch's definitions and reductions.
#pragma once

#include <cstdint>

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

/// PyTorch's default ignore_index: rows whose target equals it add nothing to a class loss.
inline constexpr int64_t kIgnoreIndex = -100;

/// Cross-entropy of logits [n, classes] against int64 class indices [n] (each in
/// [0, classes), or kIgnoreIndex: the row is ignored): -log_softmax(logits)[i, target_i].
/// Out-of-range targets throw affine::Error.
AFFINE_API Var cross_entropy(const Var& logits, const Tensor& targets,
                             Reduction reduction = Reduction::mean);

/// cross_entropy's optional arguments, as torch.nn.functional.cross_entropy's.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  /// One weight per class ([classes], the logits' dtype), or undefined (all 1). With mean
  /// reduction the sum is divided by the sum of the targets' weights, as PyTorch.
  Tensor weight;
  /// e in [0, 1]: the target becomes (1 - e) one-hot + e / classes uniform.
  double label_smoothing = 0;
  /// Rows whose target equals this add 0 to the loss and its gradient and are left out of the
  /// mean (which averages over the other rows, weighted as above); it may be a class index.
  int64_t ignore_index = kIgnoreIndex;
};

/// Cross-entropy with class weights and label smoothing: per row,
/// (1 - e) w[t] (-lp[t]) + (e / C) sum_c w[c] (-lp[c]) with lp = log_softmax(logits).
AFFINE_API Var cross_entropy(const Var& logits, const Tensor& targets,
                             const CrossEntropyOptions& options);

/// Negative log-likelihood of log-probabilities [n, classes] (e.g. log_softmax's output) at
/// int64 class indices [n]: -w[t_i] log_probs[i, t_i]; weight and ignore_index as in
/// CrossEntropyOptions.
AFFINE_API Var nll_loss(const Var& log_probs, const Tensor& targets,
                        Reduction reduction = Reduction::mean, const Tensor& weight = Tensor(),
                        int64_t ignore_index = kIgnoreIndex);

/// Mean absolute error |input - target| (gradient sign(input - target), 0 at 0).
AFFINE_API Var l1_loss(const Var& input, const Var& target, Reduction reduction = Reduction::mean);

/// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target (beta >= 0;
/// beta = 0 is L1), as torch.nn.functional.smooth_l1_loss.
AFFINE_API Var smooth_l1_loss(const Var& input, const Var& target,
                              Reduction reduction = Reduction::mean, double beta = 1.0);

/// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (delta > 0), as
/// torch.nn.functional.huber_loss.
AFFINE_API Var huber_loss(const Var& input, const Var& target,
                          Reduction reduction = Reduction::mean, double delta = 1.0);

}  // namespace affine
