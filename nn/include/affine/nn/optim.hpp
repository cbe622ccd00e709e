// Optimizers with PyTorch's update rules (torch.optim.SGD and torch.optim.Adam as of 1.13/2.x,
// single-tensor path). Schedules are in lr_scheduler.hpp.
//
//   optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
//   for (...) { opt.zero_grad(); ...; loss.backward(); opt.step(); }
//
// Parameters are updated in place (their storage is kept), so Vars and views of them stay valid.
// Updates are computed in double and stored in the parameter's dtype. A parameter with
// requires_grad == false is skipped, as PyTorch skips parameters without a gradient.
//
// State (momentum buffers, moments, step count) is exposed as named tensors, so checkpoints can
// save it: names are "<index>.<buffer>" with index the parameter's position in the list given to
// the constructor ("0.momentum_buffer", "1.exp_avg"), plus "step" (int64, rank 0) for Adam.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn::optim {

namespace detail {
struct StepSlot;
class StepPlan;
}  // namespace detail

/// Named state tensors, in a stable order.
using StateList = std::vector<std::pair<std::string, Tensor>>;

/// The interface every optimizer implements.
///
/// Exception guarantees: step() and load_state() are all-or-nothing (strong): every parameter,
/// gradient and state buffer is checked, and every allocation made, before anything changes, so
/// after an exception the parameters, the state and the step count are as before. zero_grad() is
/// strong for the liveness check (it checks every parameter first) and cannot fail afterwards.
///
/// Lifetimes: the optimizer keeps Parameter pointers. A parameter destroyed or moved from after
/// the optimizer was built (its module was destroyed, or moved, e.g. into a Sequential) is
/// detected: step(), zero_grad() and load_state() throw affine::Error naming it, and nothing is
/// touched. Build the optimizer once the model is in its final place.
class AFFINE_API Optimizer {
 public:
  /// Throws affine::Error for a null or repeated parameter.
  explicit Optimizer(std::vector<Parameter*> params, const char* op);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Sets every parameter's gradient to zero.
  void zero_grad();
  /// One update from the gradients accumulated so far.
  virtual void step() = 0;
  /// The current learning rate (schedulers read and write it).
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  /// Whether there is a momentum OneCycleLR can cycle: SGD's and RMSprop's momentum, Adam's and
  /// AdamW's beta1 (Adagrad has none).
  virtual bool has_momentum() const { return false; }
  /// That momentum; throws affine::Error when has_momentum() is false.
  virtual double momentum() const;
  virtual void set_momentum(double momentum);
  /// Copies of the optimizer state as named tensors (see the file comment).
  virtual StateList state() const = 0;
  /// Replaces the state by a list as state() returns. Every name, shape and dtype is checked
  /// before anything changes; on error (affine::Error naming the entry) the state is unchanged.
  virtual void load_state(const StateList& state) = 0;
  const std::vector<Parameter*>& params() const { return params_; }
  /// Throws affine::Error naming op and the first parameter that was destroyed or moved from
  /// since this optimizer was built.
  void check_params_alive(const char* op) const;

 protected:
  std::vector<Parameter*> params_;

 private:
  friend class detail::StepPlan;
  std::vector<std::weak_ptr<const void>> alive_;  // Parameter::lifetime() of each parameter
  std::vector<detail::StepSlot> step_slots_;      // reused by every step: no allocation per step
};

/// torch.optim.SGD's options. nesterov requires momentum > 0 and dampening == 0.
struct AFFINE_API SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

/// Stochastic gradient descent, PyTorch's rule: with g = grad + weight_decay * p,
///   b = g on the first step, else b = momentum * b + (1 - dampening) * g   (when momentum != 0)
///   d = g + momentum * b if nesterov, else b  (d = g without momentum)
///   p = p - lr * d
class AFFINE_API SGD : public Optimizer {
 public:
  /// Throws affine::Error for invalid options (negative lr/momentum/weight_decay, nesterov
  /// without momentum or with dampening).
  SGD(std::vector<Parameter*> params, SGDOptions options);
  void step() override;
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  bool has_momentum() const override { return true; }
  double momentum() const override { return options_.momentum; }
  void set_momentum(double momentum) override;
  const SGDOptions& options() const { return options_; }
  /// "<i>.momentum_buffer" for every parameter once a step has run with momentum; else empty.
  StateList state() const override;
  void load_state(const StateList& state) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined until the first step, as in PyTorch
};

/// torch.optim.Adam's options. weight_decay is the L2 penalty added to the gradient (Adam, not
/// AdamW's decoupled decay).
struct AFFINE_API AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

/// Adam, PyTorch's rule: with t the step count and g = grad + weight_decay * p,
///   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2;   (amsgrad: vmax = max(vmax, v))
///   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
class AFFINE_API Adam : public Optimizer {
 public:
  /// Throws affine::Error for invalid options (lr, eps, weight_decay < 0; betas outside [0, 1)).
  Adam(std::vector<Parameter*> params, AdamOptions options);
  void step() override;
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  /// beta1.
  bool has_momentum() const override { return true; }
  double momentum() const override { return options_.betas.first; }
  void set_momentum(double beta1) override;
  const AdamOptions& options() const { return options_; }
  /// Steps taken so far.
  int64_t step_count() const { return step_; }
  /// "step", then "<i>.exp_avg", "<i>.exp_avg_sq" (and "<i>.max_exp_avg_sq" with amsgrad) per
  /// parameter; only "step" before the first step.
  StateList state() const override;
  void load_state(const StateList& state) override;

 protected:
  /// AdamW's constructor: decoupled weight decay, messages naming `name`.
  Adam(std::vector<Parameter*> params, AdamOptions options, bool decoupled, const char* name);

 private:
  AdamOptions options_;
  bool decoupled_ = false;
  const char* name_ = "Adam";
  int64_t step_ = 0;
  std::vector<Tensor> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
};

/// torch.optim.AdamW's options (weight_decay defaults to 1e-2, as in PyTorch).
struct AFFINE_API AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

/// AdamW, PyTorch's rule: Adam's update with decoupled weight decay, p = p * (1 - lr * wd) before
/// the moment update (the gradient itself is not changed). State as Adam's.
class AFFINE_API AdamW : public Adam {
 public:
  /// Throws affine::Error for invalid options (as Adam's).
  AdamW(std::vector<Parameter*> params, AdamWOptions options = {});
};

/// torch.optim.RMSprop's options.
struct AFFINE_API RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  ///< smoothing constant of the squared-gradient average
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;  ///< normalise by the variance estimate instead of the second moment
};

/// RMSprop, PyTorch's rule: with g = grad + weight_decay * p,
///   v = alpha v + (1 - alpha) g^2;  centered: ga = alpha ga + (1 - alpha) g, v~ = v - ga^2
///   avg = sqrt(v~) + eps;  momentum: b = momentum b + g / avg, p -= lr b;  else p -= lr g / avg
class AFFINE_API RMSprop : public Optimizer {
 public:
  /// Throws affine::Error for negative lr, alpha, eps, weight_decay or momentum.
  RMSprop(std::vector<Parameter*> params, RMSpropOptions options = {});
  void step() override;
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  bool has_momentum() const override { return true; }
  double momentum() const override { return options_.momentum; }
  void set_momentum(double momentum) override;
  const RMSpropOptions& options() const { return options_; }
  /// "step", then "<i>.square_avg" (and "<i>.momentum_buffer" with momentum, "<i>.grad_avg" when
  /// centered) per parameter once a step has run.
  StateList state() const override;
  void load_state(const StateList& state) override;

 private:
  RMSpropOptions options_;
  int64_t step_ = 0;
  std::vector<Tensor> square_avg_, momentum_buffer_, grad_avg_;
};

/// torch.optim.Adagrad's options.
struct AFFINE_API AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

/// Adagrad, PyTorch's rule: with t the step count and g = grad + weight_decay * p,
///   s = s + g^2;  p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
/// s starts at initial_accumulator_value (made at construction, as PyTorch does).
class AFFINE_API Adagrad : public Optimizer {
 public:
  /// Throws affine::Error for negative lr, lr_decay, weight_decay, initial_accumulator_value, eps.
  Adagrad(std::vector<Parameter*> params, AdagradOptions options = {});
  void step() override;
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  const AdagradOptions& options() const { return options_; }
  int64_t step_count() const { return step_; }
  /// "step", then "<i>.sum" per parameter.
  StateList state() const override;
  void load_state(const StateList& state) override;

 private:
  AdagradOptions options_;
  int64_t step_ = 0;
  std::vector<Tensor> sum_;
};

}  // namespace affine::nn::optim
