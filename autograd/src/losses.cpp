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
    for (int64_t i = 0; i < c.numel(); ++i) {
      if (!(d[i] >= 0 && d[i] <= 1)) {
        throw Error(std::string(op) + ": input values must be probabilities in [0, 1], found " +
                    std::to_string(static_cast<double>(d[i])) + " at flat index " +
                    std::to_string(i) + " (use binary_cross_entropy_with_logits on logits)");
      }
    }
  });
  Tensor l = zip<2>(op, pv.shape(), {&pv, &yv}, [](auto pe, auto ye) {
    using T = decltype(pe);
    return -(ye * clamped_log<T>(pe) + (1 - ye) * clamped_log<T>(1 - pe));
  });
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

// ---- cross-entropy on logits with class indices ------------------------------------------------
// saved[0] = log_softmax(logits) [n, C], saved[1] = targets (contiguous int64 [n]).

static void cross_entropy_backward(TapeImpl& t, Node& n) {
  const Tensor& lsm = n.saved[0];
  const Tensor& tg = n.saved[1];
  const int64_t rows = lsm.shape()[0];
  const int64_t classes = lsm.shape()[1];
  const auto r = static_cast<Reduction>(n.ints[0]);
  const Tensor g = n.grad.contiguous();
  Tensor d = Tensor::empty(lsm.shape(), lsm.dtype());
  detail::visit_float(lsm.dtype(), "cross_entropy", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pl = lsm.data<T>();
    const T* pg = g.data<T>();
    const int64_t* pt = tg.data<int64_t>();
    T* pd = d.data<T>();
    for (int64_t i = 0; i < rows; ++i) {
      // d/dlogits_ic = g_i (softmax_ic - [c == target_i])
      const T gi = r == Reduction::none   ? pg[i]
                   : r == Reduction::mean ? static_cast<T>(pg[0] / static_cast<double>(rows))
                                          : pg[0];
      for (int64_t c = 0; c < classes; ++c) {
        const T onehot = c == pt[i] ? T(1) : T(0);
        pd[i * classes + c] = gi * (std::exp(pl[i * classes + c]) - onehot);
      }
    }
  });
  t.accumulate(n.in[0], std::move(d));
}

Var cross_entropy(const Var& logits, const Tensor& targets, Reduction reduction) {
  const char* op = "cross_entropy";
  detail::require_defined(op, logits);
  if (!targets.defined()) throw Error("cross_entropy: the targets tensor is undefined");
  const Tensor& x = logits.value();
  if (x.rank() != 2) {
    throw Error("cross_entropy: logits must be 2-D [n, classes], got shape " +
                to_string(x.shape()));
  }
  if (targets.dtype() != DType::i64) {
    throw Error("cross_entropy: targets must be int64 class indices, got " +
                std::string(dtype_name(targets.dtype())));
  }
  if (targets.rank() != 1 || targets.shape()[0] != x.shape()[0]) {
    throw Error("cross_entropy: logits " + to_string(x.shape()) + " and targets " +
                to_string(targets.shape()) + " do not match (expected targets [" +
                std::to_string(x.shape()[0]) + "])");
  }
  const int64_t rows = x.shape()[0];
  const int64_t classes = x.shape()[1];
  const Tensor tg = targets.contiguous();
  const int64_t* pt = tg.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) {
    if (pt[i] < 0 || pt[i] >= classes) {
      throw Error("cross_entropy: target " + std::to_string(pt[i]) + " at position " +
                  std::to_string(i) + " is out of range for " + std::to_string(classes) +
                  " classes");
    }
  }
  OpTape rec = op_begin(op, {&logits});
  Tensor lsm = detail::softmax_forward(x, 1, true);
  Tensor l = Tensor::empty({rows}, x.dtype());
  detail::visit_float(x.dtype(), op, [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pl = lsm.data<T>();
    T* po = l.data<T>();
    for (int64_t i = 0; i < rows; ++i) po[i] = -pl[i * classes + pt[i]];
  });
  Tensor out = reduce_loss(std::move(l), reduction);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &cross_entropy_backward, {&logits});
  n.saved[0] = std::move(lsm);
  n.saved[1] = tg;
  n.ints[0] = static_cast<int64_t>(reduction);
  return rec.var;
}

}  // namespace affine
