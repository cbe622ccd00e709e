#include "affine/nn/optim.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/optim_kernels.hpp"
#include "optim_step.hpp"

namespace affine::nn::optim {

namespace {

std::string shape_str(const Tensor& t) { return to_string(t.shape()); }

void check_nonnegative(double v, const char* what, const char* op) {
  if (!(v >= 0)) {
    throw Error(std::string(op) + ": " + what + " must be >= 0, got " + std::to_string(v));
  }
}

// A state list indexed by name, with duplicates rejected.
std::map<std::string, Tensor> index_state(const StateList& state, const char* op) {
  std::map<std::string, Tensor> m;
  for (const auto& [name, t] : state) {
    if (!m.emplace(name, t).second) {
      throw Error(std::string(op) + ": duplicate entry '" + name + "'");
    }
  }
  return m;
}

// Takes the entry `name` out of m, checking it matches the parameter's shape; returns a private
// copy in the parameter's dtype.
Tensor take_buffer(std::map<std::string, Tensor>& m, const std::string& name, const Parameter& p,
                   size_t index, const char* op) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(std::string(op) + ": missing '" + name + "'");
  const Tensor& t = it->second;
  if (!t.defined()) throw Error(std::string(op) + ": '" + name + "' is undefined");
  if (!(t.shape() == p.value.shape())) {
    throw Error(std::string(op) + ": '" + name + "' is " + shape_str(t) +
                " in the state but parameter " + std::to_string(index) + " is " +
                shape_str(p.value));
  }
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) {
    throw Error(std::string(op) + ": '" + name + "' has dtype " +
                std::string(dtype_name(t.dtype())) + ", expected a float dtype");
  }
  Tensor copy = t.to(p.value.dtype()).clone();
  m.erase(it);
  return copy;
}

void reject_leftovers(const std::map<std::string, Tensor>& m, const char* op) {
  if (m.empty()) return;
  std::string names;
  for (const auto& [name, t] : m) names += (names.empty() ? "'" : ", '") + name + "'";
  throw Error(std::string(op) + ": unexpected entries " + names);
}

bool has_any_with_suffix(const std::map<std::string, Tensor>& m, const std::string& suffix) {
  return std::any_of(m.begin(), m.end(), [&](const auto& kv) {
    return kv.first.size() >= suffix.size() &&
           kv.first.compare(kv.first.size() - suffix.size(), suffix.size(), suffix) == 0;
  });
}

}  // namespace

// ---- Optimizer --------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<Parameter*> params, const char* op) : params_(std::move(params)) {
  std::set<const Parameter*> seen;
  alive_.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i] == nullptr) {
      throw Error(std::string(op) + ": parameter " + std::to_string(i) + " is null");
    }
    // A repeated parameter would be updated twice per step.
    if (!seen.insert(params_[i]).second) {
      throw Error(std::string(op) + ": parameter " + std::to_string(i) + " appears twice");
    }
    alive_.push_back(params_[i]->lifetime());
  }
}

Optimizer::~Optimizer() = default;

void Optimizer::check_params_alive(const char* op) const {
  for (size_t i = 0; i < alive_.size(); ++i) {
    if (alive_[i].expired()) {
      throw Error(std::string(op) + ": parameter " + std::to_string(i) +
                  " was destroyed or moved from after the optimizer was built (its module was "
                  "destroyed or moved; build the optimizer once the model is in its final place)");
    }
  }
}

double Optimizer::momentum() const {
  throw Error("Optimizer::momentum: this optimizer has no momentum");
}

void Optimizer::set_momentum(double /*momentum*/) {
  throw Error("Optimizer::set_momentum: this optimizer has no momentum");
}

void Optimizer::zero_grad() {
  check_params_alive("Optimizer::zero_grad");
  for (Parameter* p : params_) p->zero_grad();
}

// ---- the two-phase step (optim_step.hpp) ----------------------------------------------------

namespace detail {

StepPlan::StepPlan(Optimizer& opt, const char* op) : op_(op), slots_(opt.step_slots_) {
  opt.check_params_alive(op);
  const std::vector<Parameter*>& params = opt.params();
  slots_.clear();
  slots_.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter* p = params[i];
    if (!p->requires_grad || !p->value.defined()) continue;  // skipped, as PyTorch skips them
    if (p->value.dtype() != DType::f32 && p->value.dtype() != DType::f64) {
      throw Error(std::string(op) + ": parameters must be float32 or float64, got " +
                  std::string(dtype_name(p->value.dtype())) + " for parameter " +
                  std::to_string(i));
    }
    if (!p->grad.defined() || !(p->grad.shape() == p->value.shape()) ||
        p->grad.dtype() != p->value.dtype()) {
      throw Error(std::string(op) + ": parameter " + std::to_string(i) + " " + shape_str(p->value) +
                  " has gradient " +
                  (p->grad.defined()
                       ? shape_str(p->grad) + " " + std::string(dtype_name(p->grad.dtype()))
                       : std::string("undefined")) +
                  " (expected the value's shape and dtype)");
    }
    StepSlot& s = slots_.emplace_back();
    s.index = i;
    s.param = p;
    s.value = p->value.contiguous();
    s.grad = p->grad.contiguous();
  }
}

StepPlan::~StepPlan() { slots_.clear(); }

int StepPlan::stage(std::vector<Tensor>& buffers, const char* name, StateInit init) {
  const int k = static_cast<int>(n_staged_);
  if (n_staged_ >= staged_.size()) {
    throw Error(std::string(op_) + ": too many state buffers staged (internal)");
  }
  for (StepSlot& s : slots_) {
    const Tensor& existing = buffers.at(s.index);
    if (existing.defined()) {
      if (!(existing.shape() == s.value.shape()) || existing.dtype() != s.value.dtype()) {
        throw Error(std::string(op_) + ": the " + name + " of parameter " +
                    std::to_string(s.index) + " is " + shape_str(existing) + " " +
                    std::string(dtype_name(existing.dtype())) + " but the parameter is now " +
                    shape_str(s.value) + " " + std::string(dtype_name(s.value.dtype())) +
                    " (it changed after the optimizer made its state)");
      }
      s.state[k] = existing;
    } else {
      s.state[k] = init == StateInit::zeros ? Tensor::zeros(s.value.shape(), s.value.dtype())
                                            : Tensor::empty(s.value.shape(), s.value.dtype());
      s.fresh[k] = true;
    }
  }
  staged_[n_staged_++] = &buffers;
  return k;
}

void StepPlan::finish(StepSlot& s) noexcept {
  if (!s.value.shares_storage(s.param->value)) s.param->value.copy_(s.value);
  s.param->value.bump_version();  // the update wrote through data<T>(): see Tensor::version
}

}  // namespace detail

// ---- SGD --------------------------------------------------------------------------------------

SGD::SGD(std::vector<Parameter*> params, SGDOptions options)
    : Optimizer(std::move(params), "SGD"), options_(options) {
  check_nonnegative(options_.lr, "lr", "SGD");
  check_nonnegative(options_.momentum, "momentum", "SGD");
  check_nonnegative(options_.weight_decay, "weight_decay", "SGD");
  if (options_.nesterov && (options_.momentum <= 0 || options_.dampening != 0)) {
    throw Error("SGD: nesterov requires momentum > 0 and dampening == 0, got momentum " +
                std::to_string(options_.momentum) + ", dampening " +
                std::to_string(options_.dampening));
  }
  momentum_buffers_.resize(params_.size());
}

void SGD::set_lr(double lr) {
  check_nonnegative(lr, "lr", "SGD::set_lr");
  options_.lr = lr;
}

void SGD::set_momentum(double momentum) {
  check_nonnegative(momentum, "momentum", "SGD::set_momentum");
  options_.momentum = momentum;
}

void SGD::step() {
  const double lr = options_.lr, wd = options_.weight_decay, mom = options_.momentum;
  const double damp = options_.dampening;
  const bool nesterov = options_.nesterov;
  detail::StepPlan plan(*this, "SGD::step");
  const int kb =
      mom != 0 ? plan.stage(momentum_buffers_, "momentum_buffer", detail::StateInit::uninitialized)
               : -1;
  plan.commit([&]<class T>(detail::StepSlot& s, T* w, const T* g, int64_t n) noexcept {
    T* b = kb >= 0 ? s.state[kb].data<T>() : nullptr;
    affine::detail::sgd_update(w, g, b, n,
                               {.lr = lr,
                                .weight_decay = wd,
                                .momentum = mom,
                                .dampening = damp,
                                .nesterov = nesterov,
                                .first = kb >= 0 && s.fresh[kb]});
  });
}

StateList SGD::state() const {
  StateList out;
  for (size_t i = 0; i < momentum_buffers_.size(); ++i) {
    if (momentum_buffers_[i].defined()) {
      out.emplace_back(std::to_string(i) + ".momentum_buffer", momentum_buffers_[i].clone());
    }
  }
  return out;
}

void SGD::load_state(const StateList& state) {
  const char* op = "SGD::load_state";
  check_params_alive(op);
  auto m = index_state(state, op);
  std::vector<Tensor> buffers(params_.size());
  // All or nothing: an SGD that has not stepped yet has no buffers, one that has has them all.
  if (has_any_with_suffix(m, ".momentum_buffer")) {
    if (options_.momentum == 0) {
      throw Error(std::string(op) + ": the state has momentum buffers but momentum is 0");
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i]->requires_grad) continue;
      buffers[i] = take_buffer(m, std::to_string(i) + ".momentum_buffer", *params_[i], i, op);
    }
  }
  reject_leftovers(m, op);
  momentum_buffers_ = std::move(buffers);
}

// ---- state loading shared by Adam, AdamW, RMSprop and Adagrad ---------------------------------

namespace {

// Reads "step" from a state index: a non-negative integer.
int64_t take_step(std::map<std::string, Tensor>& m, const char* op) {
  auto it = m.find("step");
  if (it == m.end()) throw Error(std::string(op) + ": missing 'step'");
  if (!it->second.defined() || it->second.numel() != 1) {
    throw Error(std::string(op) + ": 'step' must hold one value, got shape " +
                (it->second.defined() ? shape_str(it->second) : std::string("undefined")));
  }
  const double v = it->second.item();
  if (!(v >= 0) || v != std::floor(v) || v > 9.0e15) {
    throw Error(std::string(op) + ": 'step' must be a non-negative integer, got " +
                std::to_string(v));
  }
  m.erase(it);
  return static_cast<int64_t>(v);
}

}  // namespace

// ---- Adam -------------------------------------------------------------------------------------

Adam::Adam(std::vector<Parameter*> params, AdamOptions options)
    : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Parameter*> params, AdamOptions options, bool decoupled, const char* name)
    : Optimizer(std::move(params), name), options_(options), decoupled_(decoupled), name_(name) {
  check_nonnegative(options_.lr, "lr", name);
  check_nonnegative(options_.eps, "eps", name);
  check_nonnegative(options_.weight_decay, "weight_decay", name);
  const double b1 = options_.betas.first, b2 = options_.betas.second;
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) {
    throw Error(std::string(name) + ": betas must lie in [0, 1), got (" + std::to_string(b1) +
                ", " + std::to_string(b2) + ")");
  }
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
  max_exp_avg_sq_.resize(params_.size());
}

AdamW::AdamW(std::vector<Parameter*> params, AdamWOptions o)
    : Adam(std::move(params),
           AdamOptions{.lr = o.lr,
                       .betas = o.betas,
                       .eps = o.eps,
                       .weight_decay = o.weight_decay,
                       .amsgrad = o.amsgrad},
           true, "AdamW") {}

void Adam::set_lr(double lr) {
  check_nonnegative(lr, "lr", (std::string(name_) + "::set_lr").c_str());
  options_.lr = lr;
}

void Adam::set_momentum(double beta1) {
  if (!(beta1 >= 0 && beta1 < 1)) {
    throw Error("Adam::set_momentum: beta1 must lie in [0, 1), got " + std::to_string(beta1));
  }
  options_.betas.first = beta1;
}

void Adam::step() {
  const std::string op_name = std::string(name_) + "::step";
  const char* op = op_name.c_str();
  const double b1 = options_.betas.first, b2 = options_.betas.second;
  const double wd = options_.weight_decay, eps = options_.eps;
  const bool amsgrad = options_.amsgrad;
  detail::StepPlan plan(*this, op);
  const int km = plan.stage(exp_avg_, "exp_avg", detail::StateInit::zeros);
  const int kv = plan.stage(exp_avg_sq_, "exp_avg_sq", detail::StateInit::zeros);
  const int kmax =
      amsgrad ? plan.stage(max_exp_avg_sq_, "max_exp_avg_sq", detail::StateInit::zeros) : -1;
  ++step_;  // nothing below throws
  const auto t = static_cast<double>(step_);
  const double bias_correction1 = 1 - std::pow(b1, t);
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(b2, t));
  const double step_size = options_.lr / bias_correction1;
  const bool decoupled = decoupled_;
  const double decay = 1 - options_.lr * wd;
  plan.commit([&]<class T>(detail::StepSlot& s, T* w, const T* g, int64_t n) noexcept {
    T* m = s.state[km].data<T>();
    T* v = s.state[kv].data<T>();
    T* vmax = kmax >= 0 ? s.state[kmax].data<T>() : nullptr;
    for (int64_t k = 0; k < n; ++k) {
      // Adam adds the L2 term to the gradient; AdamW decays the weight itself first.
      if (decoupled && wd != 0) w[k] = static_cast<T>(w[k] * decay);
      const T gk = !decoupled && wd != 0 ? static_cast<T>(g[k] + wd * w[k]) : g[k];
      m[k] = static_cast<T>(static_cast<T>(m[k] * b1) + (1 - b1) * gk);
      v[k] = static_cast<T>(static_cast<T>(v[k] * b2) + (1 - b2) * gk * gk);
      T second = v[k];
      if (vmax != nullptr) {
        vmax[k] = std::max(vmax[k], v[k]);
        second = vmax[k];
      }
      const T denom =
          static_cast<T>(static_cast<T>(std::sqrt(second) / bias_correction2_sqrt) + eps);
      w[k] = static_cast<T>(w[k] + (-step_size) * static_cast<T>(m[k] / denom));
    }
  });
}

StateList Adam::state() const {
  StateList out;
  out.emplace_back("step", Tensor::scalar(static_cast<double>(step_), DType::i64));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    const std::string p = std::to_string(i);
    out.emplace_back(p + ".exp_avg", exp_avg_[i].clone());
    out.emplace_back(p + ".exp_avg_sq", exp_avg_sq_[i].clone());
    if (max_exp_avg_sq_[i].defined())
      out.emplace_back(p + ".max_exp_avg_sq", max_exp_avg_sq_[i].clone());
  }
  return out;
}

void Adam::load_state(const StateList& state) {
  const std::string op_name = std::string(name_) + "::load_state";
  const char* op = op_name.c_str();
  check_params_alive(op);
  auto m = index_state(state, op);
  auto it = m.find("step");
  if (it == m.end()) throw Error(std::string(op) + ": missing 'step'");
  if (!it->second.defined() || it->second.numel() != 1) {
    throw Error(std::string(op) + ": 'step' must hold one value, got shape " +
                (it->second.defined() ? shape_str(it->second) : std::string("undefined")));
  }
  const double step_value = it->second.item();
  if (!(step_value >= 0) || step_value != std::floor(step_value) || step_value > 9.0e15) {
    throw Error(std::string(op) + ": 'step' must be a non-negative integer, got " +
                std::to_string(step_value));
  }
  m.erase(it);
  if (!options_.amsgrad && has_any_with_suffix(m, ".max_exp_avg_sq")) {
    throw Error(std::string(op) + ": the state has max_exp_avg_sq buffers but amsgrad is off");
  }
  std::vector<Tensor> avg(params_.size()), avg_sq(params_.size()), max_sq(params_.size());
  // Before the first step there are no moments; after it every trained parameter has them.
  if (step_value > 0) {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i]->requires_grad) continue;
      const std::string p = std::to_string(i);
      avg[i] = take_buffer(m, p + ".exp_avg", *params_[i], i, op);
      avg_sq[i] = take_buffer(m, p + ".exp_avg_sq", *params_[i], i, op);
      if (options_.amsgrad) max_sq[i] = take_buffer(m, p + ".max_exp_avg_sq", *params_[i], i, op);
    }
  }
  reject_leftovers(m, op);
  step_ = static_cast<int64_t>(step_value);
  exp_avg_ = std::move(avg);
  exp_avg_sq_ = std::move(avg_sq);
  max_exp_avg_sq_ = std::move(max_sq);
}

// ---- RMSprop ----------------------------------------------------------------------------------

RMSprop::RMSprop(std::vector<Parameter*> params, RMSpropOptions options)
    : Optimizer(std::move(params), "RMSprop"), options_(options) {
  check_nonnegative(options_.lr, "lr", "RMSprop");
  check_nonnegative(options_.alpha, "alpha", "RMSprop");
  check_nonnegative(options_.eps, "eps", "RMSprop");
  check_nonnegative(options_.weight_decay, "weight_decay", "RMSprop");
  check_nonnegative(options_.momentum, "momentum", "RMSprop");
  square_avg_.resize(params_.size());
  momentum_buffer_.resize(params_.size());
  grad_avg_.resize(params_.size());
}

void RMSprop::set_lr(double lr) {
  check_nonnegative(lr, "lr", "RMSprop::set_lr");
  options_.lr = lr;
}

void RMSprop::set_momentum(double momentum) {
  check_nonnegative(momentum, "momentum", "RMSprop::set_momentum");
  options_.momentum = momentum;
}

void RMSprop::step() {
  const double lr = options_.lr, alpha = options_.alpha, eps = options_.eps;
  const double wd = options_.weight_decay, mom = options_.momentum;
  const bool centered = options_.centered;
  detail::StepPlan plan(*this, "RMSprop::step");
  const int kv = plan.stage(square_avg_, "square_avg", detail::StateInit::zeros);
  const int kb =
      mom > 0 ? plan.stage(momentum_buffer_, "momentum_buffer", detail::StateInit::zeros) : -1;
  const int ka = centered ? plan.stage(grad_avg_, "grad_avg", detail::StateInit::zeros) : -1;
  ++step_;  // nothing below throws
  plan.commit([&]<class T>(detail::StepSlot& s, T* w, const T* g, int64_t n) noexcept {
    T* v = s.state[kv].data<T>();
    T* b = kb >= 0 ? s.state[kb].data<T>() : nullptr;
    T* a = ka >= 0 ? s.state[ka].data<T>() : nullptr;
    for (int64_t k = 0; k < n; ++k) {
      // PyTorch 1.13's order of tensor ops, each rounded to T.
      const T gk = wd != 0 ? static_cast<T>(g[k] + wd * w[k]) : g[k];
      v[k] = static_cast<T>(static_cast<T>(v[k] * alpha) + (1 - alpha) * gk * gk);
      T avg;
      if (a != nullptr) {
        a[k] = static_cast<T>(static_cast<T>(a[k] * alpha) + (1 - alpha) * gk);
        avg = static_cast<T>(std::sqrt(static_cast<T>(v[k] - a[k] * a[k])));
      } else {
        avg = static_cast<T>(std::sqrt(v[k]));
      }
      avg = static_cast<T>(avg + eps);
      if (b != nullptr) {
        b[k] = static_cast<T>(static_cast<T>(b[k] * mom) + static_cast<T>(gk / avg));
        w[k] = static_cast<T>(w[k] + (-lr) * b[k]);
      } else {
        w[k] = static_cast<T>(w[k] + (-lr) * static_cast<T>(gk / avg));
      }
    }
  });
}

StateList RMSprop::state() const {
  StateList out;
  out.emplace_back("step", Tensor::scalar(static_cast<double>(step_), DType::i64));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!square_avg_[i].defined()) continue;
    const std::string p = std::to_string(i);
    out.emplace_back(p + ".square_avg", square_avg_[i].clone());
    if (momentum_buffer_[i].defined()) {
      out.emplace_back(p + ".momentum_buffer", momentum_buffer_[i].clone());
    }
    if (grad_avg_[i].defined()) out.emplace_back(p + ".grad_avg", grad_avg_[i].clone());
  }
  return out;
}

void RMSprop::load_state(const StateList& state) {
  const char* op = "RMSprop::load_state";
  check_params_alive(op);
  auto m = index_state(state, op);
  const int64_t step = take_step(m, op);
  std::vector<Tensor> sq(params_.size()), buf(params_.size()), ga(params_.size());
  if (step > 0) {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i]->requires_grad) continue;
      const std::string p = std::to_string(i);
      sq[i] = take_buffer(m, p + ".square_avg", *params_[i], i, op);
      if (options_.momentum > 0)
        buf[i] = take_buffer(m, p + ".momentum_buffer", *params_[i], i, op);
      if (options_.centered) ga[i] = take_buffer(m, p + ".grad_avg", *params_[i], i, op);
    }
  }
  reject_leftovers(m, op);
  step_ = step;
  square_avg_ = std::move(sq);
  momentum_buffer_ = std::move(buf);
  grad_avg_ = std::move(ga);
}

// ---- Adagrad ----------------------------------------------------------------------------------

Adagrad::Adagrad(std::vector<Parameter*> params, AdagradOptions options)
    : Optimizer(std::move(params), "Adagrad"), options_(options) {
  check_nonnegative(options_.lr, "lr", "Adagrad");
  check_nonnegative(options_.lr_decay, "lr_decay", "Adagrad");
  check_nonnegative(options_.weight_decay, "weight_decay", "Adagrad");
  check_nonnegative(options_.initial_accumulator_value, "initial_accumulator_value", "Adagrad");
  check_nonnegative(options_.eps, "eps", "Adagrad");
  // PyTorch makes the accumulators at construction.
  sum_.resize(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& v = params_[i]->value;
    if (v.defined() && (v.dtype() == DType::f32 || v.dtype() == DType::f64)) {
      sum_[i] = Tensor::full(v.shape(), options_.initial_accumulator_value, v.dtype());
    }
  }
}

void Adagrad::set_lr(double lr) {
  check_nonnegative(lr, "lr", "Adagrad::set_lr");
  options_.lr = lr;
}

void Adagrad::step() {
  const double wd = options_.weight_decay, eps = options_.eps;
  const double init = options_.initial_accumulator_value;
  detail::StepPlan plan(*this, "Adagrad::step");
  const int ks = plan.stage(sum_, "sum", detail::StateInit::uninitialized);
  ++step_;  // nothing below throws
  const double clr = options_.lr / (1 + static_cast<double>(step_ - 1) * options_.lr_decay);
  plan.commit([&]<class T>(detail::StepSlot& s, T* w, const T* g, int64_t n) noexcept {
    T* acc = s.state[ks].data<T>();
    if (s.fresh[ks]) std::fill(acc, acc + n, static_cast<T>(init));
    for (int64_t k = 0; k < n; ++k) {
      const T gk = wd != 0 ? static_cast<T>(g[k] + wd * w[k]) : g[k];
      acc[k] = static_cast<T>(acc[k] + gk * gk);
      const T std_k = static_cast<T>(static_cast<T>(std::sqrt(acc[k])) + eps);
      w[k] = static_cast<T>(w[k] + (-clr) * static_cast<T>(gk / std_k));
    }
  });
}

StateList Adagrad::state() const {
  StateList out;
  out.emplace_back("step", Tensor::scalar(static_cast<double>(step_), DType::i64));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (sum_[i].defined()) out.emplace_back(std::to_string(i) + ".sum", sum_[i].clone());
  }
  return out;
}

void Adagrad::load_state(const StateList& state) {
  const char* op = "Adagrad::load_state";
  check_params_alive(op);
  auto m = index_state(state, op);
  const int64_t step = take_step(m, op);
  std::vector<Tensor> sums(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!sum_[i].defined()) continue;
    sums[i] = take_buffer(m, std::to_string(i) + ".sum", *params_[i], i, op);
  }
  reject_leftovers(m, op);
  step_ = step;
  sum_ = std::move(sums);
}

}  // namespace affine::nn::optim
