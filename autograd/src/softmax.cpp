// softmax and log_softmax along an axis. tensor/ has no softmax kernel, so the forward and both
// VJPs are written here, each one pass per row over the [outer, len, inner] view of the input:
// subtracting the row maximum first makes exp() overflow-free for any input.
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/ops.hpp"
#include "kernels.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;

namespace {

struct RowLayout {
  int64_t outer = 1, len = 1, inner = 1;
};

RowLayout row_layout(const Shape& s, int axis) {
  RowLayout r;
  for (int d = 0; d < axis; ++d) r.outer *= s[d];
  r.len = s[axis];
  for (int d = axis + 1; d < s.size(); ++d) r.inner *= s[d];
  return r;
}

}  // namespace

namespace detail {

Tensor softmax_forward(const Tensor& a_in, int axis, bool log) {
  const Tensor a = a_in.contiguous();
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  const RowLayout L = row_layout(a.shape(), axis);
  visit_float(a.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* px = a.data<T>();
    T* py = y.data<T>();
    for (int64_t o = 0; o < L.outer; ++o) {
      for (int64_t i = 0; i < L.inner; ++i) {
        const T* x = px + o * L.len * L.inner + i;
        T* out = py + o * L.len * L.inner + i;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < L.len; ++j) m = x[j * L.inner] > m ? x[j * L.inner] : m;
        if (!std::isfinite(m)) m = 0;  // all -inf (or +inf/NaN present): let IEEE decide
        double s = 0;
        for (int64_t j = 0; j < L.len; ++j) {
          const T e = std::exp(x[j * L.inner] - m);
          if (!log) out[j * L.inner] = e;
          s += static_cast<double>(e);
        }
        if (log) {
          const T lse = m + static_cast<T>(std::log(s));
          for (int64_t j = 0; j < L.len; ++j) out[j * L.inner] = x[j * L.inner] - lse;
        } else {
          const T inv = static_cast<T>(1.0 / s);
          for (int64_t j = 0; j < L.len; ++j) out[j * L.inner] *= inv;
        }
      }
    }
  });
  return y;
}

}  // namespace detail

namespace {

// saved[0] = y (the output, contiguous); ints[0] = axis.
// softmax: dx = y (g - sum_j g_j y_j);  log_softmax: dx = g - exp(y) sum_j g_j.
template <bool Log>
void softmax_backward(TapeImpl& t, Node& n) {
  const Tensor& y = n.saved[0];
  const Tensor g = n.grad.contiguous();
  const RowLayout L = row_layout(y.shape(), static_cast<int>(n.ints[0]));
  Tensor dx = Tensor::empty(y.shape(), y.dtype());
  detail::visit_float(y.dtype(), Log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* py = y.data<T>();
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    for (int64_t o = 0; o < L.outer; ++o) {
      for (int64_t i = 0; i < L.inner; ++i) {
        const int64_t base = o * L.len * L.inner + i;
        double s = 0;
        for (int64_t j = 0; j < L.len; ++j) {
          const int64_t k = base + j * L.inner;
          s += Log ? static_cast<double>(pg[k]) : static_cast<double>(pg[k]) * py[k];
        }
        const T st = static_cast<T>(s);
        for (int64_t j = 0; j < L.len; ++j) {
          const int64_t k = base + j * L.inner;
          pd[k] = Log ? pg[k] - std::exp(py[k]) * st : py[k] * (pg[k] - st);
        }
      }
    }
  });
  t.accumulate(n.in[0], std::move(dx));
}

Var softmax_op(const char* op, const Var& a, int64_t axis, bool log) {
  detail::require_defined(op, a);
  OpTape rec = op_begin(op, {&a});
  const Tensor& v = a.value();
  if (v.dtype() == DType::i64) {
    throw Error(std::string(op) + ": int64 tensors support no arithmetic (convert with to())");
  }
  const int ax = normalize_axis(axis, v.rank(), op);
  Tensor y = detail::softmax_forward(v, ax, log);
  if (!rec) return Var(std::move(y));
  Node& n = rec.record(y, log ? &softmax_backward<true> : &softmax_backward<false>, {&a});
  n.saved[0] = y;
  n.ints[0] = ax;
  return rec.var;
}

}  // namespace

Var softmax(const Var& a, int64_t axis) { return softmax_op("softmax", a, axis, false); }
Var log_softmax(const Var& a, int64_t axis) { return softmax_op("log_softmax", a, axis, true); }

}  // namespace affine
