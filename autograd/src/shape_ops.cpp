// Shape ops: reshape, transpose, permute, slice, concat. Forward they are Tensor views (no copy
// where the layout allows); backward they map the gradient back the same way, again as views
// where possible (slice scatters into zeros).
#include <string>
#include <utility>
#include <vector>

#include "affine/autograd/ops.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::op_begin;
using detail::OpTape;
using detail::TapeImpl;

static void reshape_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], n.grad.reshape(t.nodes[n.in[0]].value.shape()));
}

Var reshape(const Var& a, const Shape& shape) {
  detail::require_defined("reshape", a);
  OpTape rec = op_begin("reshape", {&a});
  Tensor out = a.value().reshape(shape);
  if (!rec) return Var(std::move(out));
  rec.record(out, &reshape_backward, {&a});
  return rec.var;
}

// ints[0], ints[1]: the swapped dims (transposing back is the same swap).
static void transpose_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], n.grad.transpose(n.ints[0], n.ints[1]));
}

Var transpose(const Var& a, int64_t dim0, int64_t dim1) {
  detail::require_defined("transpose", a);
  OpTape rec = op_begin("transpose", {&a});
  Tensor out = a.value().transpose(dim0, dim1);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &transpose_backward, {&a});
  n.ints[0] = dim0;
  n.ints[1] = dim1;
  return rec.var;
}

// dims: the inverse permutation.
static void permute_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], n.grad.permute(n.dims));
}

Var permute(const Var& a, const Dims& dims) {
  detail::require_defined("permute", a);
  OpTape rec = op_begin("permute", {&a});
  Tensor out = a.value().permute(dims);  // checks dims is a permutation
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &permute_backward, {&a});
  Dims inv = Dims::filled(dims.size(), 0);
  for (int i = 0; i < dims.size(); ++i) {
    inv[normalize_axis(dims[i], dims.size(), "permute")] = i;
  }
  n.dims = inv;
  return rec.var;
}

// ints: dim, start, end, step as given (Tensor::slice normalises them the same way again).
static void slice_backward(TapeImpl& t, Node& n) {
  const Tensor& in = t.nodes[n.in[0]].value;
  Tensor res = Tensor::zeros(in.shape(), in.dtype());
  res.slice(n.ints[0], n.ints[1], n.ints[2], n.ints[3]).copy_(n.grad);
  t.accumulate(n.in[0], std::move(res));
}

Var slice(const Var& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  detail::require_defined("slice", a);
  OpTape rec = op_begin("slice", {&a});
  Tensor out = a.value().slice(dim, start, end, step);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &slice_backward, {&a});
  n.ints = {dim, start, end, step};
  return rec.var;
}

// ints[0]: dim (normalised); ints[1], ints[2]: where this node's entries begin in the tape's aux
// array and how many inputs there are. Each input has three aux entries: node index (or -1 for a
// constant), offset along dim, length along dim.
static void concat_backward(TapeImpl& t, Node& n) {
  const int64_t dim = n.ints[0];
  for (int64_t k = 0; k < n.ints[2]; ++k) {
    const int64_t* e = &t.aux[static_cast<size_t>(n.ints[1] + 3 * k)];
    if (e[0] < 0) continue;
    const auto idx = static_cast<uint32_t>(e[0]);
    if (t.needs_grad(idx)) t.accumulate(idx, n.grad.narrow(dim, e[1], e[2]));
  }
}

Var concat(const std::vector<Var>& vars, int64_t dim) {
  if (vars.empty()) throw Error("concat: no inputs");
  std::vector<Tensor> values;
  values.reserve(vars.size());
  for (const Var& v : vars) {
    detail::require_defined("concat", v);
    detail::check_fresh("concat", v);
    values.push_back(v.value());
  }
  // op_begin's checks, over any number of inputs.
  Tape* tape = nullptr;
  bool any_grad = false;
  for (const Var& v : vars) {
    if (v.tape() == nullptr) continue;
    if (tape != nullptr && v.tape() != tape) {
      throw Error(
          "concat: inputs are recorded on different tapes (a graph lives on one tape; "
          "detach() or re-record one of them)");
    }
    tape = v.tape();
    any_grad = any_grad || v.requires_grad();
  }
  OpTape rec;
  if (tape != nullptr && any_grad && tape->recording()) rec.tape = tape;
  Tensor out = affine::concat(values, dim);
  if (!rec) return Var(std::move(out));
  TapeImpl& impl = TapeAccess::impl(*rec.tape);
  const int64_t d = normalize_axis(dim, out.rank(), "concat");
  const auto begin = static_cast<int64_t>(impl.aux.size());
  int64_t offset = 0;
  for (const Var& v : vars) {
    const int64_t len = v.shape()[static_cast<int>(d)];
    impl.aux.push_back(v.tape() == rec.tape ? static_cast<int64_t>(VarAccess::index(v)) : -1);
    if (v.tape() == rec.tape) ++impl.nodes[VarAccess::index(v)].consumers;  // see Node::consumers
    impl.aux.push_back(offset);
    impl.aux.push_back(len);
    offset += len;
  }
  Node& n = rec.record(out, &concat_backward, {});
  n.ints = {d, begin, static_cast<int64_t>(vars.size()), 0};
  return rec.var;
}

}  // namespace affine
