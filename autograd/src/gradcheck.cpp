// gradcheck: the analytic Jacobian from the tape (one backward per output element, one-hot seeds)
// against central differences, all in float64.
#include "affine/autograd/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "affine/autograd/tape.hpp"
#include "affine/tensor/ops.hpp"

namespace affine {

namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Flat row-major index -> multi-index text "[i, j]".
std::string index_text(int64_t flat, const Shape& shape) {
  Dims idx = Dims::filled(shape.size(), 0);
  for (int d = shape.size() - 1; d >= 0; --d) {
    if (shape[d] > 0) {
      idx[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  return to_string(idx);
}

// The elements of t in row-major order, as doubles.
std::vector<double> values(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

}  // namespace

GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<Tensor> x;
  x.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    if (!t.defined()) throw Error("gradcheck: an input tensor is undefined");
    x.push_back(t.dtype() == DType::f64 ? t : t.to(DType::f64));  // f64 views keep their strides
  }
  const auto as_constants = [](const std::vector<Tensor>& ts) {
    return std::vector<Var>(ts.begin(), ts.end());
  };

  // The output's shape, from one evaluation on constants.
  const Var y0 = fn(as_constants(x));
  if (!y0.defined()) throw Error("gradcheck: the function returned an undefined Var");
  const Shape out_shape = y0.shape();
  const int64_t m = y0.value().numel();

  // Analytic Jacobian: row j from a backward seeded with the one-hot e_j.
  // analytic[i][j * numel_i + k] = d y_j / d x_i[k].
  std::vector<std::vector<double>> analytic(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    analytic[i].assign(static_cast<size_t>(m * x[i].numel()), 0.0);
  }
  Tape tape;
  for (int64_t j = 0; j < m; ++j) {
    tape.clear();
    std::vector<Var> leaves;
    leaves.reserve(x.size());
    for (const Tensor& t : x) leaves.push_back(tape.leaf(t));
    const Var y = fn(leaves);
    if (y.tape() != &tape || !y.requires_grad()) continue;  // y does not depend on the inputs
    Tensor seed = Tensor::zeros(y.shape(), y.dtype());
    seed.view({-1}).set({j}, 1.0);  // one-hot at flat position j
    tape.backward(y, seed);
    for (size_t i = 0; i < x.size(); ++i) {
      const std::vector<double> g = values(leaves[i].grad());
      std::copy(g.begin(), g.end(), analytic[i].begin() + j * x[i].numel());
    }
  }
  tape.clear();

  // Numeric Jacobian column by column, comparing as we go.
  GradcheckResult r;
  double worst_excess = -1;
  int64_t checks = 0;
  const double h = options.eps;
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t n = x[i].numel();
    for (int64_t k = 0; k < n; ++k) {
      std::vector<Tensor> xs = x;
      Tensor plus = x[i].clone();
      Tensor minus = x[i].clone();
      plus.data<double>()[k] += h;
      minus.data<double>()[k] -= h;
      xs[i] = plus;
      const std::vector<double> yp = values(fn(as_constants(xs)).value());
      xs[i] = minus;
      const std::vector<double> ym = values(fn(as_constants(xs)).value());
      for (int64_t j = 0; j < m; ++j) {
        const double num = (yp[static_cast<size_t>(j)] - ym[static_cast<size_t>(j)]) / (2 * h);
        const double ana = analytic[i][static_cast<size_t>(j * n + k)];
        const double err = std::abs(ana - num);
        const double tol = options.atol + options.rtol * std::abs(num);
        ++checks;
        r.max_abs_grad = std::max(r.max_abs_grad, std::abs(ana));
        r.max_abs_error = std::max(r.max_abs_error, std::isnan(err) ? INFINITY : err);
        const bool bad = !(err <= tol);  // NaN fails
        const double excess = std::isnan(err) ? INFINITY : err - tol;
        if (bad && excess > worst_excess) {
          worst_excess = excess;
          r.ok = false;
          r.message = "gradcheck: input " + std::to_string(i) + " element " +
                      index_text(k, x[i].shape()) + ", output element " + index_text(j, out_shape) +
                      ": analytic " + fmt(ana) + " vs numeric " + fmt(num) + " (|diff| " +
                      fmt(err) + " > tolerance " + fmt(tol) + ")";
        }
      }
    }
  }
  if (r.ok) {
    r.message = "gradcheck: ok (" + std::to_string(checks) + " derivatives, max |error| " +
                fmt(r.max_abs_error) + ", max |gradient| " + fmt(r.max_abs_grad) + ")";
  }
  return r;
}

}  // namespace affine
