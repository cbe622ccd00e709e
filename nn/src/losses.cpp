#include "affine/nn/losses.hpp"

namespace affine::nn {

std::string reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::mean:
      return "mean";
    case Reduction::sum:
      return "sum";
    case Reduction::none:
      return "none";
  }
  return "unknown";
}

Var BCELoss::forward(const Var& probabilities, const Var& target) const {
  return binary_cross_entropy(probabilities, target, reduction_);
}

Var BCEWithLogitsLoss::forward(const Var& logits, const Var& target) const {
  return binary_cross_entropy_with_logits(logits, target, reduction_);
}

Var MSELoss::forward(const Var& prediction, const Var& target) const {
  return mse_loss(prediction, target, reduction_);
}

}  // namespace affine::nn
