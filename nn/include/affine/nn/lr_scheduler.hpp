// Learning-rate schedules, as torch.optim.lr_scheduler (PyTorch 1.13's formulas, including the
// recursive "chainable" forms, so the lrs match PyTorch's to rounding).
//
//   optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
//   optim::CosineAnnealingLR sched(opt, /*t_max=*/100);
//   for (int epoch = 0; epoch < 100; ++epoch) { ...train one epoch...; sched.step(); }
//
// A scheduler sets the optimizer's lr when it is built (epoch 0: LinearLR and OneCycleLR change it
// at once) and at every step(). Its state (epoch count, last lr, ...) is a StateList, like an
// optimizer's: nn::save / nn::load keep it in checkpoints, and load_state() also puts the saved
// lr (and momentum) back into the optimizer, so a resumed run continues the same schedule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "affine/nn/optim.hpp"

namespace affine::nn::optim {

/// The base of the epoch-driven schedulers: step() advances the epoch and sets the lr.
class AFFINE_API LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch (or one batch, for OneCycleLR) and sets the optimizer's lr.
  void step();
  /// Steps taken so far (PyTorch's last_epoch; 0 after construction).
  int64_t last_epoch() const { return last_epoch_; }
  /// The optimizer's lr when the scheduler was built.
  double base_lr() const { return base_lr_; }
  /// The optimizer's current learning rate.
  double lr() const { return optimizer_.lr(); }
  /// "last_epoch" (int64), "base_lr", "last_lr" and, when the schedule sets it, "last_momentum".
  StateList state() const;
  /// Restores a state() list (every entry checked first; on error nothing changes) and sets the
  /// optimizer's lr (and momentum) to the saved ones.
  void load_state(const StateList& state);

 protected:
  /// Reads the optimizer's lr as base_lr. Derived constructors call start() when they are ready.
  LRScheduler(Optimizer& optimizer, const char* name);
  /// Sets the lr for epoch 0 (what PyTorch's constructor does by calling step()).
  void start();
  /// The lr for last_epoch_, from the optimizer's current lr (the chainable forms) or base_lr_.
  virtual double compute_lr() = 0;
  /// For schedules that also set the momentum (OneCycleLR); called after compute_lr().
  virtual bool sets_momentum() const { return false; }

  Optimizer& optimizer_;
  const char* name_;
  double base_lr_;
  int64_t last_epoch_ = 0;
};

/// torch.optim.lr_scheduler.StepLR: lr *= gamma every step_size epochs.
class AFFINE_API StepLR : public LRScheduler {
 public:
  /// Throws affine::Error for step_size < 1.
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  /// Same as last_epoch().
  int64_t epoch() const { return last_epoch_; }

 private:
  double compute_lr() override;
  int64_t step_size_;
  double gamma_;
};

/// torch.optim.lr_scheduler.CosineAnnealingLR: the lr follows half a cosine from base_lr down to
/// eta_min over t_max epochs (and back up after, as PyTorch's recursive form does).
class AFFINE_API CosineAnnealingLR : public LRScheduler {
 public:
  /// Throws affine::Error for t_max < 1 or eta_min < 0.
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0);

 private:
  double compute_lr() override;
  int64_t t_max_;
  double eta_min_;
};

/// torch.optim.lr_scheduler.LinearLR (warm-up): the lr goes linearly from start_factor * base_lr
/// to end_factor * base_lr over total_iters steps, then stays.
class AFFINE_API LinearLR : public LRScheduler {
 public:
  /// Throws affine::Error unless 0 < start_factor <= 1, 0 <= end_factor <= 1, total_iters >= 1.
  explicit LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
                    int64_t total_iters = 5);

 private:
  double compute_lr() override;
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// OneCycleLR's options (PyTorch's defaults).
struct AFFINE_API OneCycleOptions {
  double pct_start = 0.3;      ///< fraction of the steps spent increasing the lr
  bool anneal_cos = true;      ///< cosine annealing ("cos"); false: linear ("linear")
  bool cycle_momentum = true;  ///< cycle the momentum (SGD, RMSprop) or beta1 (Adam, AdamW)
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25;         ///< initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  ///< final lr = initial lr / final_div_factor
  bool three_phase = false;       ///< a third phase anneals to the final lr, as in fast.ai
};

/// torch.optim.lr_scheduler.OneCycleLR: the 1cycle policy over total_steps steps (call step()
/// after every batch). Replaces the optimizer's lr (and momentum) at construction.
class AFFINE_API OneCycleLR : public LRScheduler {
 public:
  /// Throws affine::Error for total_steps < 1, pct_start outside [0, 1], max_lr <= 0, or
  /// cycle_momentum with an optimizer that has no momentum (Adagrad).
  OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps,
             OneCycleOptions options = {});

 private:
  struct Phase {
    double end_step, start_lr, end_lr, start_momentum, end_momentum;
  };
  double compute_lr() override;
  bool sets_momentum() const override { return options_.cycle_momentum; }
  double anneal(double start, double end, double pct) const;
  int64_t total_steps_;
  OneCycleOptions options_;
  std::vector<Phase> phases_;
};

/// ReduceLROnPlateau's options (PyTorch's defaults).
struct AFFINE_API ReduceLROnPlateauOptions {
  bool mode_max = false;       ///< false: "min" (a loss); true: "max" (an accuracy)
  double factor = 0.1;         ///< new lr = lr * factor
  int64_t patience = 10;       ///< epochs without improvement before reducing
  double threshold = 1e-4;     ///< what counts as an improvement
  bool threshold_abs = false;  ///< false: "rel" (relative to the best); true: "abs"
  int64_t cooldown = 0;        ///< epochs to wait after a reduction
  double min_lr = 0;
  double eps = 1e-8;  ///< reductions smaller than this are skipped
};

/// torch.optim.lr_scheduler.ReduceLROnPlateau: reduces the lr when a metric stops improving.
class AFFINE_API ReduceLROnPlateau {
 public:
  /// Throws affine::Error for factor outside [0, 1), negative patience, threshold, cooldown,
  /// min_lr or eps.
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  /// Records one epoch's metric (a NaN is never an improvement) and reduces the lr if needed.
  void step(double metric);
  double lr() const { return optimizer_.lr(); }
  int64_t last_epoch() const { return last_epoch_; }
  /// The best metric so far (+inf in min mode before any step, -inf in max mode).
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  /// "last_epoch", "best", "num_bad_epochs", "cooldown_counter", "last_lr".
  StateList state() const;
  /// Restores a state() list (checked first; on error nothing changes) and the optimizer's lr.
  void load_state(const StateList& state);

 private:
  bool is_better(double metric) const;
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
};

}  // namespace affine::nn::optim
