// Learning-rate schedules: PyTorch 1.13's get_lr() formulas, term for term, so the lrs agree with
// torch.optim.lr_scheduler to rounding (tests/data/make_optim_golden.py records them).
#include "affine/nn/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <string>

#include "affine/tensor/error.hpp"

namespace affine::nn::optim {

namespace {

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

// A scheduler's state: rank-0 entries, read by name, all checked before anything changes.
class ScalarState {
 public:
  ScalarState(const StateList& state, const char* op) : op_(op) {
    for (const auto& [name, t] : state) {
      if (!entries_.emplace(name, t).second) fail("duplicate entry '" + name + "'");
    }
  }
  double real(const std::string& name) { return take(name, false); }
  int64_t count(const std::string& name) {
    const double v = take(name, true);
    if (!(v >= 0)) fail("'" + name + "' must be >= 0, got " + num(v));
    return static_cast<int64_t>(v);
  }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  // Call after reading everything: leftover entries are an error.
  void finish() const {
    if (entries_.empty()) return;
    std::string names;
    for (const auto& [name, t] : entries_) names += (names.empty() ? "'" : ", '") + name + "'";
    fail("unexpected entries " + names);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(std::string(op_) + ": " + what);
  }
  double take(const std::string& name, bool integer) {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail("missing '" + name + "'");
    const Tensor& t = it->second;
    if (!t.defined() || t.numel() != 1) {
      fail("'" + name + "' must hold one value, got " +
           (t.defined() ? to_string(t.shape()) : std::string("undefined")));
    }
    if (integer != (t.dtype() == DType::i64)) {
      fail("'" + name + "' must be " + (integer ? "int64" : "a float") + ", got " +
           std::string(dtype_name(t.dtype())));
    }
    const double v = t.item();
    entries_.erase(it);
    return v;
  }
  const char* op_;
  std::map<std::string, Tensor> entries_;
};

Tensor count_tensor(int64_t v) { return Tensor::scalar(static_cast<double>(v), DType::i64); }
Tensor real_tensor(double v) { return Tensor::scalar(v, DType::f64); }

void check_lr(double lr, const char* op) {
  if (!(lr >= 0) || std::isinf(lr))
    throw Error(std::string(op) + ": lr must be finite and >= 0, got " + num(lr));
}

}  // namespace

// ---- LRScheduler ------------------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer, const char* name)
    : optimizer_(optimizer), name_(name), base_lr_(optimizer.lr()) {}

void LRScheduler::start() { optimizer_.set_lr(compute_lr()); }

void LRScheduler::step() {
  ++last_epoch_;
  try {
    optimizer_.set_lr(compute_lr());
  } catch (...) {
    --last_epoch_;  // a refused step (OneCycleLR past its end) leaves the schedule where it was
    throw;
  }
}

StateList LRScheduler::state() const {
  StateList out{{"last_epoch", count_tensor(last_epoch_)},
                {"base_lr", real_tensor(base_lr_)},
                {"last_lr", real_tensor(optimizer_.lr())}};
  if (sets_momentum()) out.emplace_back("last_momentum", real_tensor(optimizer_.momentum()));
  return out;
}

void LRScheduler::load_state(const StateList& state) {
  const std::string op = std::string(name_) + "::load_state";
  ScalarState s(state, op.c_str());
  const int64_t epoch = s.count("last_epoch");
  const double base = s.real("base_lr");
  const double last = s.real("last_lr");
  check_lr(base, op.c_str());
  check_lr(last, op.c_str());
  const double momentum = sets_momentum() ? s.real("last_momentum") : 0;
  s.finish();
  if (sets_momentum()) {
    const double before = optimizer_.momentum();
    optimizer_.set_momentum(momentum);  // may refuse (e.g. beta1 >= 1): then nothing changed
    try {
      optimizer_.set_lr(last);
    } catch (...) {
      optimizer_.set_momentum(before);
      throw;
    }
  } else {
    optimizer_.set_lr(last);
  }
  last_epoch_ = epoch;
  base_lr_ = base;
}

// ---- StepLR -----------------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) {
    throw Error("StepLR: step_size must be >= 1, got " + std::to_string(step_size));
  }
  start();
}

double StepLR::compute_lr() {
  // Chainable, as PyTorch: multiply the current lr at every multiple of step_size.
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return optimizer_.lr();
  return optimizer_.lr() * gamma_;
}

// ---- CosineAnnealingLR ------------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) throw Error("CosineAnnealingLR: t_max must be >= 1, got " + std::to_string(t_max));
  if (!(eta_min >= 0)) throw Error("CosineAnnealingLR: eta_min must be >= 0, got " + num(eta_min));
  start();
}

double CosineAnnealingLR::compute_lr() {
  const double lr = optimizer_.lr();
  const double pi = std::numbers::pi;
  const auto t = static_cast<double>(t_max_);
  if (last_epoch_ == 0) return lr;
  const int64_t period = 2 * t_max_;
  const int64_t phase = ((last_epoch_ - 1 - t_max_) % period + period) % period;  // Python's %
  if (phase == 0) return lr + (base_lr_ - eta_min_) * (1 - std::cos(pi / t)) / 2;
  const auto e = static_cast<double>(last_epoch_);
  return (1 + std::cos(pi * e / t)) / (1 + std::cos(pi * (e - 1) / t)) * (lr - eta_min_) + eta_min_;
}

// ---- LinearLR ---------------------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor,
                   int64_t total_iters)
    : LRScheduler(optimizer, "LinearLR"),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  if (!(start_factor > 0 && start_factor <= 1)) {
    throw Error("LinearLR: start_factor must lie in (0, 1], got " + num(start_factor));
  }
  if (!(end_factor >= 0 && end_factor <= 1)) {
    throw Error("LinearLR: end_factor must lie in [0, 1], got " + num(end_factor));
  }
  if (total_iters < 1) {
    throw Error("LinearLR: total_iters must be >= 1, got " + std::to_string(total_iters));
  }
  start();
}

double LinearLR::compute_lr() {
  const double lr = optimizer_.lr();
  if (last_epoch_ == 0) return lr * start_factor_;
  if (last_epoch_ > total_iters_) return lr;
  const double span = end_factor_ - start_factor_;
  return lr * (1.0 + span / (static_cast<double>(total_iters_) * start_factor_ +
                             static_cast<double>(last_epoch_ - 1) * span));
}

// ---- OneCycleLR -------------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps,
                       OneCycleOptions options)
    : LRScheduler(optimizer, "OneCycleLR"), total_steps_(total_steps), options_(options) {
  if (total_steps < 1) {
    throw Error("OneCycleLR: total_steps must be >= 1, got " + std::to_string(total_steps));
  }
  if (!(options.pct_start >= 0 && options.pct_start <= 1)) {
    throw Error("OneCycleLR: pct_start must lie in [0, 1], got " + num(options.pct_start));
  }
  if (!(max_lr > 0) || std::isinf(max_lr)) {
    throw Error("OneCycleLR: max_lr must be finite and > 0, got " + num(max_lr));
  }
  if (!(options.div_factor > 0) || !(options.final_div_factor > 0)) {
    throw Error("OneCycleLR: div_factor and final_div_factor must be > 0, got " +
                num(options.div_factor) + " and " + num(options.final_div_factor));
  }
  if (options.cycle_momentum && !optimizer.has_momentum()) {
    throw Error(
        "OneCycleLR: cycle_momentum needs an optimizer with a momentum or betas (this one has "
        "neither); pass cycle_momentum = false");
  }
  const double initial = max_lr / options.div_factor;
  const double min_lr = initial / options.final_div_factor;
  const double up_end = options.pct_start * static_cast<double>(total_steps) - 1;
  const double last = static_cast<double>(total_steps) - 1;
  const double lo = options.base_momentum, hi = options.max_momentum;
  if (options.three_phase) {
    phases_ = {
        {up_end, initial, max_lr, hi, lo},
        {2 * options.pct_start * static_cast<double>(total_steps) - 2, max_lr, initial, lo, hi},
        {last, initial, min_lr, hi, hi}};
  } else {
    phases_ = {{up_end, initial, max_lr, hi, lo}, {last, max_lr, min_lr, lo, hi}};
  }
  if (options.cycle_momentum) optimizer.set_momentum(hi);
  start();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_cos)
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  return (end - start) * pct + start;
}

double OneCycleLR::compute_lr() {
  if (last_epoch_ > total_steps_) {
    throw Error("OneCycleLR: tried to step " + std::to_string(last_epoch_) +
                " times; total_steps is " + std::to_string(total_steps_));
  }
  const auto step = static_cast<double>(last_epoch_);
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (step <= ph.end_step || i + 1 == phases_.size()) {
      const double pct = (step - start_step) / (ph.end_step - start_step);
      if (options_.cycle_momentum) {
        optimizer_.set_momentum(anneal(ph.start_momentum, ph.end_momentum, pct));
      }
      return anneal(ph.start_lr, ph.end_lr, pct);
    }
    start_step = ph.end_step;
  }
  return optimizer_.lr();  // unreachable: the last phase always matches
}

// ---- ReduceLROnPlateau ------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.mode_max ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity()) {
  if (!(options.factor >= 0 && options.factor < 1)) {
    throw Error("ReduceLROnPlateau: factor must lie in [0, 1), got " + num(options.factor));
  }
  if (options.patience < 0 || options.cooldown < 0) {
    throw Error("ReduceLROnPlateau: patience and cooldown must be >= 0, got " +
                std::to_string(options.patience) + " and " + std::to_string(options.cooldown));
  }
  if (!(options.threshold >= 0) || !(options.min_lr >= 0) || !(options.eps >= 0)) {
    throw Error("ReduceLROnPlateau: threshold, min_lr and eps must be >= 0, got " +
                num(options.threshold) + ", " + num(options.min_lr) + ", " + num(options.eps));
  }
}

bool ReduceLROnPlateau::is_better(double a) const {
  const double t = options_.threshold;
  if (options_.mode_max) return options_.threshold_abs ? a > best_ + t : a > best_ * (t + 1);
  return options_.threshold_abs ? a < best_ - t : a < best_ * (1 - t);
}

void ReduceLROnPlateau::step(double metric) {
  const double old_lr = optimizer_.lr();
  const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
  int64_t bad = num_bad_epochs_;
  double best = best_;
  if (is_better(metric)) {
    best = metric;
    bad = 0;
  } else {
    ++bad;
  }
  int64_t cooldown = cooldown_counter_;
  if (cooldown > 0) {
    --cooldown;
    bad = 0;  // ignore bad epochs in cooldown
  }
  if (bad > options_.patience) {
    if (old_lr - new_lr > options_.eps) optimizer_.set_lr(new_lr);  // the only step that can throw
    cooldown = options_.cooldown;
    bad = 0;
  }
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  ++last_epoch_;
}

StateList ReduceLROnPlateau::state() const {
  return {{"last_epoch", count_tensor(last_epoch_)},
          {"best", real_tensor(best_)},
          {"num_bad_epochs", count_tensor(num_bad_epochs_)},
          {"cooldown_counter", count_tensor(cooldown_counter_)},
          {"last_lr", real_tensor(optimizer_.lr())}};
}

void ReduceLROnPlateau::load_state(const StateList& state) {
  const char* op = "ReduceLROnPlateau::load_state";
  ScalarState s(state, op);
  const int64_t epoch = s.count("last_epoch");
  const double best = s.real("best");
  const int64_t bad = s.count("num_bad_epochs");
  const int64_t cooldown = s.count("cooldown_counter");
  const double last = s.real("last_lr");
  check_lr(last, op);
  s.finish();
  optimizer_.set_lr(last);
  last_epoch_ = epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace affine::nn::optim
