// Reductions: sum and mean (all, or over axes with keepdim) and max along one axis.
// Their VJPs broadcast the incoming gradient back over the reduced dimensions as a stride-0 view
// (no copy); max scatters it to the first maximal element.
#include <algorithm>
#include <string>
#include <utility>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;

namespace {

// g (the reduced gradient) viewed with the reduced axes (n.dims, ascending) re-inserted as size 1
// when the op dropped them (ints[0] == 0: keepdim false), then broadcast to the input's shape.
Tensor unreduce(const Tensor& g, const Node& n, const Shape& in_shape) {
  Tensor k = g;
  if (n.ints[0] == 0) {
    for (int64_t ax : n.dims) k = k.unsqueeze(ax);
  }
  return k.expand(in_shape);
}

Axes normalized_axes(const char* op, const Axes& axes, int rank) {
  Axes out;
  for (int64_t a : axes) out.push_back(normalize_axis(a, rank, op));
  std::sort(out.begin(), out.end());
  return out;
}

void sum_all_backward(TapeImpl& t, Node& n) {
  // d sum(a) / da = 1 everywhere: the scalar gradient broadcast to a's shape.
  t.accumulate(n.in[0], n.grad.expand(t.nodes[n.in[0]].value.shape()));
}

void mean_all_backward(TapeImpl& t, Node& n) {
  const Shape& s = t.nodes[n.in[0]].value.shape();
  const double count = static_cast<double>(shape_numel(s));
  t.accumulate(n.in[0], affine::div(n.grad, count).expand(s));
}

void sum_axes_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], unreduce(n.grad, n, t.nodes[n.in[0]].value.shape()));
}

void mean_axes_backward(TapeImpl& t, Node& n) {
  const Shape& s = t.nodes[n.in[0]].value.shape();
  // The gradient of a mean is the sum's divided by how many elements each output averaged.
  const double count = static_cast<double>(shape_numel(s)) / static_cast<double>(n.value.numel());
  t.accumulate(n.in[0], unreduce(affine::div(n.grad, count), n, s));
}

Var record_reduction(const char* op, const Var& a, Tensor out, detail::BackwardFn fn,
                     const Axes& axes = {}, bool keepdim = false) {
  OpTape rec = op_begin(op, {&a});
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, fn, {&a});
  n.dims = axes;
  n.ints[0] = keepdim ? 1 : 0;
  return rec.var;
}

}  // namespace

Var sum(const Var& a) {
  detail::require_defined("sum", a);
  return record_reduction("sum", a, affine::sum(a.value()), &sum_all_backward);
}

Var sum(const Var& a, const Axes& axes, bool keepdim) {
  detail::require_defined("sum", a);
  Tensor out = affine::sum(a.value(), axes, keepdim);  // checks the axes
  return record_reduction("sum", a, std::move(out), &sum_axes_backward,
                          normalized_axes("sum", axes, a.rank()), keepdim);
}

Var mean(const Var& a) {
  detail::require_defined("mean", a);
  return record_reduction("mean", a, affine::mean(a.value()), &mean_all_backward);
}

Var mean(const Var& a, const Axes& axes, bool keepdim) {
  detail::require_defined("mean", a);
  Tensor out = affine::mean(a.value(), axes, keepdim);
  return record_reduction("mean", a, std::move(out), &mean_axes_backward,
                          normalized_axes("mean", axes, a.rank()), keepdim);
}

// ---- max along an axis -------------------------------------------------------------------------
// saved[0]: argmax indices (int64, the reduced shape without keepdim); ints[1]: the axis.

static void max_backward(TapeImpl& t, Node& n) {
  const Shape& s = t.nodes[n.in[0]].value.shape();
  const int ax = static_cast<int>(n.ints[1]);
  int64_t outer = 1;
  int64_t inner = 1;
  for (int d = 0; d < ax; ++d) outer *= s[d];
  for (int d = ax + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t len = s[ax];
  Tensor res = Tensor::zeros(s, n.value.dtype());
  const Tensor g = n.grad.contiguous();
  const Tensor idx = n.saved[0].contiguous();
  const int64_t* pi = idx.data<int64_t>();
  detail::visit_float(res.dtype(), "max", [&](auto tag) {
    using T = AFFINE_T(tag);
    T* pr = res.data<T>();
    const T* pg = g.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t j = pi[o * inner + i];
        pr[(o * len + j) * inner + i] += pg[o * inner + i];
      }
    }
  });
  t.accumulate(n.in[0], std::move(res));
}

Var max(const Var& a, int64_t axis, bool keepdim) {
  detail::require_defined("max", a);
  OpTape rec = op_begin("max", {&a});
  Tensor out = affine::max(a.value(), Axes{axis}, keepdim);  // checks the axis, empty dims
  if (!rec) return Var(std::move(out));
  Tensor idx = affine::argmax(a.value(), axis, false);
  Node& n = rec.record(out, &max_backward, {&a});
  n.saved[0] = std::move(idx);
  n.ints[1] = normalize_axis(axis, a.rank(), "max");
  return rec.var;
}

}  // namespace affine
