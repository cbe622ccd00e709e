// Dropout, as torch.nn.Dropout.
#pragma once

#include <cstdint>
#include <string>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"

namespace affine::nn {

/// Inverted dropout: in train() zeroes each element with probability p and scales the others by
/// 1 / (1 - p); in eval() passes x through unchanged. The masks come from the layer's own
/// Generator, so a run is reproducible. Throws affine::Error unless 0 <= p < 1.
class AFFINE_API Dropout : public Module {
 public:
  /// The layer's Generator is seeded by a draw from affine::default_generator(), so two such
  /// layers drop different elements and manual_seed(n) before building the model reproduces them.
  explicit Dropout(double p = 0.5);
  /// The layer's Generator is Generator(seed).
  Dropout(double p, uint64_t seed);
  Var forward(const Var& x) override;
  /// "Dropout(p=0.5)".
  std::string name() const override;
  double p() const { return p_; }

 private:
  double p_;
  Generator gen_;
};

}  // namespace affine::nn
