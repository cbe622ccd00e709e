// Loss modules, as torch.nn.BCELoss & co. They hold only a Reduction and call the differentiable
// losses of affine/autograd/losses.hpp (also usable directly as functions).
//
// They are not nn::Modules: a loss takes two inputs (prediction, target) and owns no parameters,
// so Module's one-input forward() and parameter lists would only get in the way.
#pragma once

#include <string>
#include <utility>

#include "affine/autograd/losses.hpp"
#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn {

/// "mean", "sum" or "none".
AFFINE_API std::string reduction_name(Reduction reduction);

/// Binary cross-entropy on probabilities in [0, 1]; each log is clamped at -100 as in PyTorch.
class AFFINE_API BCELoss {
 public:
  explicit BCELoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var forward(const Var& probabilities, const Var& target) const;
  Var operator()(const Var& probabilities, const Var& target) const {
    return forward(probabilities, target);
  }
  Reduction reduction() const { return reduction_; }
  std::string name() const { return "BCELoss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
};

/// Binary cross-entropy on logits, stable for any logit: max(x, 0) - x y + log1p(exp(-|x|)).
class AFFINE_API BCEWithLogitsLoss {
 public:
  explicit BCEWithLogitsLoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var forward(const Var& logits, const Var& target) const;
  Var operator()(const Var& logits, const Var& target) const { return forward(logits, target); }
  Reduction reduction() const { return reduction_; }
  std::string name() const {
    return "BCEWithLogitsLoss(reduction=" + reduction_name(reduction_) + ")";
  }

 private:
  Reduction reduction_;
};

/// Mean squared error (prediction - target)^2.
class AFFINE_API MSELoss {
 public:
  explicit MSELoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var forward(const Var& prediction, const Var& target) const;
  Var operator()(const Var& prediction, const Var& target) const {
    return forward(prediction, target);
  }
  Reduction reduction() const { return reduction_; }
  std::string name() const { return "MSELoss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
};

/// Cross-entropy of logits [n, classes] against int64 class indices [n], optionally with class
/// weights and label smoothing (CrossEntropyOptions).
class AFFINE_API CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(Reduction reduction = Reduction::mean) {
    options_.reduction = reduction;
  }
  explicit CrossEntropyLoss(CrossEntropyOptions options) : options_(std::move(options)) {}
  Var forward(const Var& logits, const Tensor& targets) const {
    return cross_entropy(logits, targets, options_);
  }
  Var operator()(const Var& logits, const Tensor& targets) const {
    return forward(logits, targets);
  }
  Reduction reduction() const { return options_.reduction; }
  std::string name() const {
    return "CrossEntropyLoss(reduction=" + reduction_name(options_.reduction) + ")";
  }

 private:
  CrossEntropyOptions options_;
};

/// Negative log-likelihood of log-probabilities against int64 class indices (rows whose target
/// is ignore_index add nothing).
class AFFINE_API NLLLoss {
 public:
  explicit NLLLoss(Reduction reduction = Reduction::mean, Tensor weight = Tensor(),
                   int64_t ignore_index = kIgnoreIndex)
      : reduction_(reduction), weight_(std::move(weight)), ignore_index_(ignore_index) {}
  Var operator()(const Var& log_probs, const Tensor& targets) const {
    return nll_loss(log_probs, targets, reduction_, weight_, ignore_index_);
  }
  std::string name() const { return "NLLLoss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
  Tensor weight_;
  int64_t ignore_index_;
};

/// Mean absolute error.
class AFFINE_API L1Loss {
 public:
  explicit L1Loss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var operator()(const Var& input, const Var& target) const {
    return l1_loss(input, target, reduction_);
  }
  std::string name() const { return "L1Loss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
};

/// Smooth L1 (quadratic below beta, linear above).
class AFFINE_API SmoothL1Loss {
 public:
  explicit SmoothL1Loss(Reduction reduction = Reduction::mean, double beta = 1.0)
      : reduction_(reduction), beta_(beta) {}
  Var operator()(const Var& input, const Var& target) const {
    return smooth_l1_loss(input, target, reduction_, beta_);
  }
  std::string name() const { return "SmoothL1Loss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
  double beta_;
};

/// Huber loss (quadratic below delta, linear with slope delta above).
class AFFINE_API HuberLoss {
 public:
  explicit HuberLoss(Reduction reduction = Reduction::mean, double delta = 1.0)
      : reduction_(reduction), delta_(delta) {}
  Var operator()(const Var& input, const Var& target) const {
    return huber_loss(input, target, reduction_, delta_);
  }
  std::string name() const { return "HuberLoss(reduction=" + reduction_name(reduction_) + ")"; }

 private:
  Reduction reduction_;
  double delta_;
};

}  // namespace affine::nn
