// Loss modules, as torch.nn.BCELoss & co. They hold only a Reduction and call the differentiable
// losses of affine/autograd/losses.hpp (also usable directly as functions).
//
// They are not nn::Modules: a loss takes two inputs (prediction, target) and owns no parameters,
// so Module's one-input forward() and parameter lists would only get in the way.
#pragma once

#include <string>

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

/// Cross-entropy of logits [n, classes] against int64 class indices [n].
class AFFINE_API CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Var forward(const Var& logits, const Tensor& targets) const;
  Var operator()(const Var& logits, const Tensor& targets) const {
    return forward(logits, targets);
  }
  Reduction reduction() const { return reduction_; }
  std::string name() const {
    return "CrossEntropyLoss(reduction=" + reduction_name(reduction_) + ")";
  }

 private:
  Reduction reduction_;
};

}  // namespace affine::nn
