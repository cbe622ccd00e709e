// Losses with PyTorch's definitions and reductions. Each computes its per-element values in one
// fused pass (kernels.hpp), reduces with tensor/'s sum or mean, and its VJP is one more fused pass
// that scales the derivative by the incoming gradient (a scalar for mean/sum, broadcast without
// a copy; per element for none).
#include "affine/autograd/losses.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "affine/tensor/internal/scalar_math.hpp"
#include "affine/tensor/ops.hpp"
#include "kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;
using detail::zip;

namespace {

void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) {
    throw Error(std::string(op) + ": shapes " + to_string(a.shape()) + " and " +
                to_string(b.shape()) + " differ (the target must have the input's shape)");
  }
  detail::check_same_float(op, a.dtype(), b.dtype());
}

Tensor reduce_loss(Tensor l, Reduction r) {
  switch (r) {
    case Reduction::mean:
      return affine::mean(l);
    case Reduction::sum:
      return affine::sum(l);
    case Reduction::none:
      break;
  }
  return l;
}

// The incoming gradient as a per-element factor: g / count for mean, g for sum and none (zip
// broadcasts the rank-0 ones to the loss's shape).
Tensor grad_scale(const Node& n, int64_t count) {
  if (static_cast<Reduction>(n.ints[0]) == Reduction::mean) {
    return affine::div(n.grad, static_cast<double>(count));
  }
  return n.grad;
}

// Records a two-input loss: saved = (input, target) values, ints[0] = reduction.
Var record_loss(const char* op, const Var& a, const Var& b, Tensor l, Reduction r,
                detail::BackwardFn fn) {
  OpTape rec = op_begin(op, {&a, &b});
  Tensor out = reduce_loss(std::move(l), r);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, fn, {&a, &b});
  n.saved[0] = a.value();
  n.saved[1] = b.value();
  n.ints[0] = static_cast<int64_t>(r);
  return rec.var;
}

template <class T>
T clamped_log(T v) {
  return std::max(std::log(v), T(-100));  // PyTorch's BCELoss clamp: log(0) gives -100
}

}  // namespace

// ---- binary cross-entropy on probabilities -----------------------------------------------------

static void bce_backward(TapeImpl& t, Node& n) {
  const Tensor& p = n.saved[0];
  const Tensor& y = n.saved[1];
  const Tensor g = grad_scale(n, p.numel());
  if (t.needs_grad(n.in[0])) {
    // d/dp = (p - y) / (p (1 - p)), the denominator kept >= 1e-12 as PyTorch does.
    t.accumulate(n.in[0], zip<3>("binary_cross_entropy", p.shape(), {&g, &p, &y},
                                 [](auto gv, auto pv, auto yv) {
                                   using T = decltype(gv);
                                   return gv * (pv - yv) / std::max(pv * (1 - pv), T(1e-12));
                                 }));
  }
  if (t.needs_grad(n.in[1])) {
    // d/dy = log(1 - p) - log(p), both clamped.
    t.accumulate(n.in[1], zip<2>("binary_cross_entropy", p.shape(), {&g, &p}, [](auto gv, auto pv) {
                   using T = decltype(gv);
                   return gv * (clamped_log<T>(1 - pv) - clamped_log<T>(pv));
                 }));
  }
}

Var binary_cross_entropy(const Var& p, const Var& y, Reduction reduction) {
  const char* op = "binary_cross_entropy";
  detail::require_defined(op, p);
  detail::require_defined(op, y, "target");
  const Tensor& pv = p.value();
  const Tensor& yv = y.value();
  check_pair(op, pv, yv);
  detail::visit_float(pv.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const Tensor c = pv.contiguous();
    const T* d = c.data<T>();
    // A branch-free count of the good values before looking for the first bad one. Counted in
    // int32 a block at a time: that form vectorises (a bool &= did not, and cost 1% of a
    // batch-1,000 training step).
    const int64_t n = c.numel();
    constexpr int64_t kBlock = int64_t{1} << 20;
    bool all_ok = true;
    for (int64_t i0 = 0; i0 < n && all_ok; i0 += kBlock) {
      const int64_t m = std::min(kBlock, n - i0);
      int32_t good = 0;
      for (int64_t i = i0; i < i0 + m; ++i) good += (d[i] >= T(0)) & (d[i] <= T(1));
      all_ok = good == m;
    }
    for (int64_t i = 0; !all_ok && i < n; ++i) {
      if (!(d[i] >= 0 && d[i] <= 1)) {
        throw Error(std::string(op) + ": input values must be probabilities in [0, 1], found " +
                    std::to_string(static_cast<double>(d[i])) + " at flat index " +
                    std::to_string(i) + " (use binary_cross_entropy_with_logits on logits)");
      }
    }
  });
  Tensor l = detail::binary_cross_entropy_forward(pv, yv);
  return record_loss(op, p, y, std::move(l), reduction, &bce_backward);
}

// ---- binary cross-entropy on logits ------------------------------------------------------------

static void bce_logits_backward(TapeImpl& t, Node& n) {
  const Tensor& x = n.saved[0];
  const Tensor& y = n.saved[1];
  const Tensor g = grad_scale(n, x.numel());
  if (t.needs_grad(n.in[0])) {
    // d/dx = sigmoid(x) - y, sigmoid evaluated without overflow on either side.
    t.accumulate(n.in[0], zip<3>("binary_cross_entropy_with_logits", x.shape(), {&g, &x, &y},
                                 [](auto gv, auto xv, auto yv) {
                                   return gv * (detail::stable_sigmoid(xv) - yv);
                                 }));
  }
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], zip<2>("binary_cross_entropy_with_logits", x.shape(), {&g, &x},
                                 [](auto gv, auto xv) { return -gv * xv; }));
  }
}

Var binary_cross_entropy_with_logits(const Var& x, const Var& y, Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::require_defined(op, x);
  detail::require_defined(op, y, "target");
  const Tensor& xv = x.value();
  const Tensor& yv = y.value();
  check_pair(op, xv, yv);
  Tensor l = zip<2>(op, xv.shape(), {&xv, &yv}, [](auto xe, auto ye) {
    using T = decltype(xe);
    return std::max(xe, T(0)) - xe * ye + std::log1p(std::exp(-std::abs(xe)));
  });
  return record_loss(op, x, y, std::move(l), reduction, &bce_logits_backward);
}

// ---- mean squared error ------------------------------------------------------------------------

static void mse_backward(TapeImpl& t, Node& n) {
  const Tensor& p = n.saved[0];
  const Tensor& y = n.saved[1];
  const Tensor g = grad_scale(n, p.numel());
  // d/dp = 2 (p - y), d/dy = -2 (p - y).
  if (t.needs_grad(n.in[0])) {
    t.accumulate(n.in[0], zip<3>("mse_loss", p.shape(), {&g, &p, &y},
                                 [](auto gv, auto pv, auto yv) { return 2 * gv * (pv - yv); }));
  }
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], zip<3>("mse_loss", p.shape(), {&g, &p, &y},
                                 [](auto gv, auto pv, auto yv) { return 2 * gv * (yv - pv); }));
  }
}

Var mse_loss(const Var& pred, const Var& target, Reduction reduction) {
  const char* op = "mse_loss";
  detail::require_defined(op, pred);
  detail::require_defined(op, target, "target");
  const Tensor& pv = pred.value();
  const Tensor& yv = target.value();
  check_pair(op, pv, yv);
  Tensor l = zip<2>(op, pv.shape(), {&pv, &yv}, [](auto a, auto b) { return (a - b) * (a - b); });
  return record_loss(op, pred, target, std::move(l), reduction, &mse_backward);
}

// ---- cross-entropy and NLL on class indices ---------------------------------------------------
// PyTorch's definitions, with class weights w (1 when absent) and label smoothing e over C
// classes: per row, nll_i = -w[t_i] lp[i, t_i] and smooth_i = -sum_c w[c] lp[i, c], where lp is
// log_softmax(logits) (cross_entropy) or the input itself (nll_loss);
// loss_i = (1 - e) nll_i + (e / C) smooth_i. Rows whose target is ignore_index contribute 0 and
// are left out of the mean, which divides the sum by sum_i w[t_i] over the other rows (their
// number without weights), as torch.nn.functional does.

namespace {

// Validates logits/log-probabilities [n, C], int64 targets [n] in range (or ignore_index),
// weight [C] (optional).
void check_class_targets(const char* op, const Tensor& x, const Tensor& targets,
                         const Tensor& weight, int64_t ignore_index) {
  if (!targets.defined()) throw Error(std::string(op) + ": the targets tensor is undefined");
  if (x.rank() != 2) {
    throw Error(std::string(op) + ": input must be 2-D [n, classes], got shape " +
                to_string(x.shape()));
  }
  if (targets.dtype() != DType::i64) {
    throw Error(std::string(op) + ": targets must be int64 class indices, got " +
                std::string(dtype_name(targets.dtype())));
  }
  if (targets.rank() != 1 || targets.shape()[0] != x.shape()[0]) {
    throw Error(std::string(op) + ": input " + to_string(x.shape()) + " and targets " +
                to_string(targets.shape()) + " do not match (expected targets [" +
                std::to_string(x.shape()[0]) + "])");
  }
  const int64_t classes = x.shape()[1];
  if (weight.defined()) {
    if (weight.rank() != 1 || weight.shape()[0] != classes) {
      throw Error(std::string(op) + ": weight " + to_string(weight.shape()) +
                  " must have one entry per class (expected [" + std::to_string(classes) + "])");
    }
    detail::check_same_float(op, x.dtype(), weight.dtype());
  }
  const Tensor tg = targets.contiguous();
  const int64_t* pt = tg.data<int64_t>();
  for (int64_t i = 0; i < tg.numel(); ++i) {
    if ((pt[i] < 0 || pt[i] >= classes) && pt[i] != ignore_index) {
      throw Error(std::string(op) + ": target " + std::to_string(pt[i]) + " at position " +
                  std::to_string(i) + " is out of range for " + std::to_string(classes) +
                  " classes (ignore_index is " + std::to_string(ignore_index) + ")");
    }
  }
}

// A class loss's operands. The node keeps lp and the weights packed in saved[0] ([n (+1), C]: lp,
// then the weights when given) and the targets in saved[1].
struct ClassLoss {
  Tensor lp;       // [n, C]
  Tensor targets;  // int64 [n], contiguous; kIgnored marks a row whose target was ignore_index
  Tensor weight;   // [C] or undefined
  double smoothing = 0;
};

// What an ignored row's target becomes (ignore_index itself may be a valid class, e.g. 0).
constexpr int64_t kIgnored = -1;

template <class T>
double weight_of(const T* w, int64_t c) {
  return w == nullptr ? 1.0 : static_cast<double>(w[c]);
}

// Per-row losses and the mean's divisor.
Tensor class_loss_rows(const ClassLoss& c, double* divisor) {
  const int64_t rows = c.lp.shape()[0];
  const int64_t classes = c.lp.shape()[1];
  Tensor l = Tensor::empty({rows}, c.lp.dtype());
  const Tensor w = c.weight.defined() ? c.weight.contiguous() : Tensor();
  detail::visit_float(c.lp.dtype(), "cross_entropy", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pl = c.lp.template data<T>();
    const T* pw = w.defined() ? w.template data<T>() : nullptr;
    const int64_t* pt = c.targets.template data<int64_t>();
    T* po = l.data<T>();
    double div = 0;
    for (int64_t i = 0; i < rows; ++i) {
      if (pt[i] == kIgnored) {
        po[i] = T(0);
        continue;
      }
      const T* row = pl + i * classes;
      const double nll = -weight_of(pw, pt[i]) * static_cast<double>(row[pt[i]]);
      double smooth = 0;
      if (c.smoothing != 0) {
        for (int64_t k = 0; k < classes; ++k) {
          smooth -= weight_of(pw, k) * static_cast<double>(row[k]);
        }
      }
      po[i] = static_cast<T>((1 - c.smoothing) * nll +
                             c.smoothing / static_cast<double>(classes) * smooth);
      div += weight_of(pw, pt[i]);
    }
    *divisor = div;
  });
  return l;
}

// d loss_i / d lp[i, k] (through_softmax false) or d loss_i / d logits[i, k] (true), times the
// per-row scale g_i.
template <class T>
void class_loss_grad(const ClassLoss& c, bool through_softmax, const T* g, bool per_row,
                     double scale, T* out) {
  const int64_t rows = c.lp.shape()[0];
  const int64_t classes = c.lp.shape()[1];
  const T* pl = c.lp.template data<T>();
  const T* pw = c.weight.defined() ? c.weight.template data<T>() : nullptr;
  const int64_t* pt = c.targets.template data<int64_t>();
  const double e = c.smoothing;
  const double ec = e / static_cast<double>(classes);
  double wsum = 0;
  for (int64_t k = 0; k < classes; ++k) wsum += weight_of(pw, k);
  for (int64_t i = 0; i < rows; ++i) {
    if (pt[i] == kIgnored) {
      std::fill(out + i * classes, out + (i + 1) * classes, T(0));
      continue;
    }
    const double gi = (per_row ? static_cast<double>(g[i]) : static_cast<double>(g[0])) * scale;
    const double wt = weight_of(pw, pt[i]);
    for (int64_t k = 0; k < classes; ++k) {
      const double onehot = k == pt[i] ? 1.0 : 0.0;
      double d;
      if (through_softmax) {
        // d nll / dz = w_t (p - onehot); d smooth / dz = p sum(w) - w_k
        const double p = std::exp(static_cast<double>(pl[i * classes + k]));
        d = (1 - e) * wt * (p - onehot) + ec * (p * wsum - weight_of(pw, k));
      } else {
        d = -(1 - e) * wt * onehot - ec * weight_of(pw, k);
      }
      out[i * classes + k] = static_cast<T>(gi * d);
    }
  }
}

// Node: saved[0] = the pack of lp and weights, saved[1] = targets; ints = {reduction, weighted,
// classes, rows}; dims[0] = 1 when the gradient goes through the softmax (cross_entropy);
// scalar = {label smoothing, divisor of the mean}.
void class_loss_backward(TapeImpl& t, Node& n) {
  const int64_t classes = n.ints[2];
  ClassLoss c;
  c.lp = n.saved[0].narrow(0, 0, n.ints[3]);
  c.targets = n.saved[1];
  if (n.ints[1] != 0) c.weight = n.saved[0].narrow(0, n.ints[3], 1).reshape({classes});
  c.smoothing = n.scalar[0];
  const auto r = static_cast<Reduction>(n.ints[0]);
  const double scale = r == Reduction::mean ? 1.0 / n.scalar[1] : 1.0;
  const Tensor g = n.grad.contiguous();
  Tensor d = Tensor::empty(c.lp.shape(), c.lp.dtype());
  detail::visit_float(c.lp.dtype(), "cross_entropy", [&](auto tag) {
    using T = AFFINE_T(tag);
    class_loss_grad<T>(c, n.dims[0] != 0, g.data<T>(), r == Reduction::none, scale, d.data<T>());
  });
  t.accumulate(n.in[0], std::move(d));
}

Var class_loss(const char* op, const Var& input, const Tensor& targets, Reduction reduction,
               const Tensor& weight, double label_smoothing, int64_t ignore_index,
               bool from_logits) {
  detail::require_defined(op, input);
  const Tensor& x = input.value();
  check_class_targets(op, x, targets, weight, ignore_index);
  if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
    throw Error(std::string(op) + ": label_smoothing must be in [0, 1], got " +
                std::to_string(label_smoothing));
  }
  const int64_t rows = x.shape()[0];
  const int64_t classes = x.shape()[1];
  OpTape rec = op_begin(op, {&input});
  ClassLoss c;
  // lp and (when weighted) the weights in one [rows (+1), C] tensor, so the node keeps both.
  Tensor pack = Tensor::empty({rows + (weight.defined() ? 1 : 0), classes}, x.dtype());
  c.lp = pack.narrow(0, 0, rows);
  if (from_logits) {
    c.lp.copy_(detail::softmax_forward(x, 1, true));
  } else {
    c.lp.copy_(x);
  }
  if (weight.defined()) {
    c.weight = pack.narrow(0, rows, 1).reshape({classes});
    c.weight.copy_(weight);
  }
  c.targets = targets.clone();  // contiguous, and ours to mark the ignored rows in
  int64_t* pt = c.targets.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) {
    if (pt[i] == ignore_index) pt[i] = kIgnored;
  }
  c.smoothing = label_smoothing;
  double divisor = 0;
  Tensor l = class_loss_rows(c, &divisor);
  Tensor out = reduction == Reduction::mean ? affine::div(affine::sum(l), divisor)
                                            : reduce_loss(std::move(l), reduction);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &class_loss_backward, {&input});
  n.saved[0] = std::move(pack);
  n.saved[1] = c.targets;
  n.ints = {static_cast<int64_t>(reduction), weight.defined() ? 1 : 0, classes, rows};
  n.dims = Dims{from_logits ? 1 : 0};
  n.scalar = {label_smoothing, divisor};
  return rec.var;
}

}  // namespace

Var cross_entropy(const Var& logits, const Tensor& targets, Reduction reduction) {
  return class_loss("cross_entropy", logits, targets, reduction, Tensor(), 0, kIgnoreIndex, true);
}

Var cross_entropy(const Var& logits, const Tensor& targets, const CrossEntropyOptions& options) {
  return class_loss("cross_entropy", logits, targets, options.reduction, options.weight,
                    options.label_smoothing, options.ignore_index, true);
}

Var nll_loss(const Var& log_probs, const Tensor& targets, Reduction reduction, const Tensor& weight,
             int64_t ignore_index) {
  return class_loss("nll_loss", log_probs, targets, reduction, weight, 0, ignore_index, false);
}

// ---- L1, smooth L1, Huber ----------------------------------------------------------------------
// Functions of d = input - target; scalar[0] = beta (smooth L1) or delta (Huber).

namespace {

template <class T>
T sign_of(T v) {
  return v > 0 ? T(1) : (v < 0 ? T(-1) : T(0));
}

// The derivative of each loss with respect to d.
enum class Robust { l1, smooth_l1, huber };

template <class T>
T robust_value(Robust kind, T d, T param) {
  const T a = std::abs(d);
  switch (kind) {
    case Robust::l1:
      return a;
    case Robust::smooth_l1:
      return a < param ? T(0.5) * d * d / param : a - T(0.5) * param;
    case Robust::huber:
      return a < param ? T(0.5) * d * d : param * (a - T(0.5) * param);
  }
  return a;
}

template <class T>
T robust_slope(Robust kind, T d, T param) {
  switch (kind) {
    case Robust::l1:
      return sign_of(d);
    case Robust::smooth_l1:
      return std::abs(d) < param ? d / param : sign_of(d);
    case Robust::huber:
      return std::abs(d) < param ? d : param * sign_of(d);
  }
  return sign_of(d);
}

void robust_backward(TapeImpl& t, Node& n) {
  const Tensor& p = n.saved[0];
  const Tensor& y = n.saved[1];
  const Tensor g = grad_scale(n, p.numel());
  const auto kind = static_cast<Robust>(n.ints[1]);
  const double param = n.scalar[0];
  const auto slope = [kind, param](auto gv, auto pv, auto yv) {
    using T = decltype(gv);
    return gv * robust_slope<T>(kind, pv - yv, static_cast<T>(param));
  };
  if (t.needs_grad(n.in[0])) t.accumulate(n.in[0], zip<3>("loss", p.shape(), {&g, &p, &y}, slope));
  if (t.needs_grad(n.in[1])) {
    t.accumulate(n.in[1], affine::neg(zip<3>("loss", p.shape(), {&g, &p, &y}, slope)));
  }
}

Var robust_loss(const char* op, Robust kind, const Var& input, const Var& target,
                Reduction reduction, double param) {
  detail::require_defined(op, input);
  detail::require_defined(op, target, "target");
  const Tensor& pv = input.value();
  const Tensor& yv = target.value();
  check_pair(op, pv, yv);
  Tensor l = zip<2>(op, pv.shape(), {&pv, &yv}, [kind, param](auto a, auto b) {
    using T = decltype(a);
    return robust_value<T>(kind, a - b, static_cast<T>(param));
  });
  OpTape rec = op_begin(op, {&input, &target});
  Tensor out = reduce_loss(std::move(l), reduction);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &robust_backward, {&input, &target});
  n.saved[0] = pv;
  n.saved[1] = yv;
  n.ints[0] = static_cast<int64_t>(reduction);
  n.ints[1] = static_cast<int64_t>(kind);
  n.scalar[0] = param;
  return rec.var;
}

}  // namespace

Var l1_loss(const Var& input, const Var& target, Reduction reduction) {
  return robust_loss("l1_loss", Robust::l1, input, target, reduction, 0);
}

Var smooth_l1_loss(const Var& input, const Var& target, Reduction reduction, double beta) {
  if (!(beta >= 0)) {
    throw Error("smooth_l1_loss: beta must be non-negative, got " + std::to_string(beta));
  }
  // beta = 0 is exactly L1 (PyTorch special-cases it too; the formula would divide by 0).
  return beta == 0
             ? robust_loss("smooth_l1_loss", Robust::l1, input, target, reduction, 0)
             : robust_loss("smooth_l1_loss", Robust::smooth_l1, input, target, reduction, beta);
}

Var huber_loss(const Var& input, const Var& target, Reduction reduction, double delta) {
  if (!(delta > 0)) {
    throw Error("huber_loss: delta must be positive, got " + std::to_string(delta));
  }
  return robust_loss("huber_loss", Robust::huber, input, target, reduction, delta);
}

}  // namespace affine
