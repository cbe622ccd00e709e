// Gradient clipping: PyTorch 1.13's torch.nn.utils.clip_grad_norm_ / clip_grad_value_. The norm
// is accumulated in double whatever the gradients' dtype; the scale is applied in place.
#include "affine/nn/clip_grad.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

namespace {

constexpr auto num = detail::number_text;

// The parameters whose gradients take part, each checked before any gradient changes.
std::vector<Parameter*> clipped_params(const std::vector<Parameter*>& params, const char* op) {
  std::vector<Parameter*> out;
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter* p = params[i];
    if (p == nullptr)
      throw Error(std::string(op) + ": parameter " + std::to_string(i) + " is null");
    if (!p->requires_grad || !p->value.defined()) continue;
    if (!p->grad.defined() || p->grad.shape() != p->value.shape() ||
        p->grad.dtype() != p->value.dtype() || p->grad.dtype() == DType::i64) {
      throw Error(std::string(op) + ": parameter " + std::to_string(i) + " is " +
                  to_string(p->value.shape()) + " " + std::string(dtype_name(p->value.dtype())) +
                  " but its gradient is " +
                  (p->grad.defined()
                       ? to_string(p->grad.shape()) + " " + std::string(dtype_name(p->grad.dtype()))
                       : std::string("undefined")));
    }
    out.push_back(p);
  }
  return out;
}

// Calls f(x) for every element of t (any layout) and stores the result back in place.
template <class F>
void map_in_place(Tensor& t, F&& f) {
  Tensor c = t.contiguous();
  auto run = [&]<class T>(T* d) {
    for (int64_t i = 0; i < c.numel(); ++i) d[i] = static_cast<T>(f(static_cast<double>(d[i])));
  };
  if (c.dtype() == DType::f32) {
    run(c.data<float>());
  } else {
    run(c.data<double>());
  }
  if (c.shares_storage(t)) {
    t.bump_version();
  } else {
    t.copy_(c);  // a strided gradient: written back through its view
  }
}

// Calls f(x) for every element of t.
template <class F>
void for_each(const Tensor& t, F&& f) {
  const Tensor c = t.contiguous();
  auto run = [&]<class T>(const T* d) {
    for (int64_t i = 0; i < c.numel(); ++i) f(static_cast<double>(d[i]));
  };
  if (c.dtype() == DType::f32) {
    run(c.data<float>());
  } else {
    run(c.data<double>());
  }
}

}  // namespace

double clip_grad_norm_(const std::vector<Parameter*>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  const char* op = "clip_grad_norm_";
  if (!(max_norm >= 0)) {
    throw Error(std::string(op) + ": max_norm must be >= 0, got " + num(max_norm));
  }
  if (!(norm_type > 0)) {
    throw Error(std::string(op) + ": norm_type must be > 0 (or kInfNorm), got " + num(norm_type));
  }
  const std::vector<Parameter*> ps = clipped_params(params, op);
  if (ps.empty()) return 0;

  const bool inf = std::isinf(norm_type);
  double acc = 0;  // inf: the largest |g|; else the sum of |g|^norm_type
  bool nan = false;
  for (Parameter* p : ps) {
    for_each(p->grad, [&](double g) {
      const double a = std::abs(g);
      if (std::isnan(a)) nan = true;
      if (inf) {
        acc = std::max(acc, a);
      } else {
        acc += norm_type == 2.0 ? a * a : (norm_type == 1.0 ? a : std::pow(a, norm_type));
      }
    });
  }
  double total = inf ? acc : (norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1 / norm_type));
  if (nan) total = std::nan("");  // std::max would have dropped it
  if (error_if_nonfinite && !std::isfinite(total)) {
    throw Error(std::string(op) + ": the total norm of order " + num(norm_type) +
                " of the gradients is non-finite (" + num(total) +
                "), so they cannot be clipped; pass error_if_nonfinite = false to scale anyway");
  }
  // PyTorch multiplies even when the coefficient clamps to 1 (a no-op); so does this, which
  // keeps NaN coefficients (a non-finite total) spreading as they do there.
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  const double scale = std::isnan(total) ? total : coef;
  for (Parameter* p : ps) map_in_place(p->grad, [scale](double g) { return g * scale; });
  return total;
}

void clip_grad_value_(const std::vector<Parameter*>& params, double clip_value) {
  const char* op = "clip_grad_value_";
  if (!(clip_value >= 0)) {
    throw Error(std::string(op) + ": clip_value must be >= 0, got " + num(clip_value));
  }
  for (Parameter* p : clipped_params(params, op)) {
    map_in_place(p->grad, [clip_value](double g) {
      return std::isnan(g) ? g : std::clamp(g, -clip_value, clip_value);
    });
  }
}

}  // namespace affine::nn
