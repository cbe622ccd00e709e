// Activation layers beyond layers.hpp's Tanh, Sigmoid and ReLU, as in torch.nn.
#pragma once

#include <cstdint>
#include <string>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn {

/// GELU, exact (erf) form: x Phi(x).
class AFFINE_API GELU : public Module {
 public:
  Var forward(const Var& x) override;
  std::string name() const override { return "GELU()"; }
};

/// max(x, 0) + negative_slope min(x, 0).
class AFFINE_API LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  double slope_;
};

/// log(1 + exp(beta x)) / beta, linear where beta x > threshold.
class AFFINE_API Softplus : public Module {
 public:
  explicit Softplus(double beta = 1, double threshold = 20) : beta_(beta), threshold_(threshold) {}
  Var forward(const Var& x) override;
  std::string name() const override;

 private:
  double beta_;
  double threshold_;
};

/// x sigmoid(x).
class AFFINE_API SiLU : public Module {
 public:
  Var forward(const Var& x) override;
  std::string name() const override { return "SiLU()"; }
};

}  // namespace affine::nn
