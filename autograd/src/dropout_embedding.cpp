// dropout and embedding: the two ops whose forward is a selection (by a random mask, by indices)
// and whose VJP applies the same selection to the gradient.
#include <algorithm>
#include <string>
#include <utility>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/nn_kernels.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"

namespace affine {

using detail::Node;
using detail::OpTape;
using detail::TapeImpl;

// ---- dropout: saved[0] = the mask (0 or 1 / (1 - p)) -------------------------------------------

static void dropout_backward(TapeImpl& t, Node& n) {
  t.accumulate(n.in[0], affine::mul(n.grad, n.saved[0]));
}

Var dropout(const Var& x, double p, bool training, Generator& gen) {
  detail::require_defined("dropout", x);
  if (!(p >= 0 && p < 1)) {
    throw Error("dropout: p must be in [0, 1), got " + std::to_string(p) + " (input " +
                to_string(x.shape()) + ")");
  }
  if (!training || p == 0) return x;
  if (x.dtype() == DType::i64) throw Error("dropout: int64 input " + to_string(x.shape()));
  OpTape rec = detail::op_begin("dropout", {&x});
  Tensor mask = detail::dropout_mask(x.shape(), x.dtype(), p, gen);
  Tensor out = affine::mul(x.value(), mask);
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &dropout_backward, {&x});
  n.saved[0] = std::move(mask);
  return rec.var;
}

// ---- embedding: saved[0] = indices (contiguous int64) -------------------------------------------

namespace {

template <class T>
void scatter_rows(const Tensor& g, const Tensor& indices, int64_t dim, T* dst) {
  const T* pg = g.data<T>();
  const int64_t* pi = indices.data<int64_t>();
  for (int64_t k = 0; k < indices.numel(); ++k) {
    T* row = dst + pi[k] * dim;
    const T* src = pg + k * dim;
    for (int64_t j = 0; j < dim; ++j) row[j] += src[j];
  }
}

void embedding_backward(TapeImpl& t, Node& n) {
  const Tensor g = n.grad.contiguous();
  const Shape& wshape = t.nodes[n.in[0]].value.shape();
  Tensor* target = t.accumulate_target(n.in[0]);
  const bool direct = target != nullptr && !target->shares_storage(g);
  Tensor fresh = direct ? Tensor() : Tensor::zeros(wshape, g.dtype());
  Tensor& dst = direct ? *target : fresh;
  detail::visit_float(g.dtype(), "embedding", [&](auto tag) {
    using T = AFFINE_T(tag);
    scatter_rows<T>(g, n.saved[0], wshape[1], dst.data<T>());
  });
  if (!direct) t.accumulate(n.in[0], std::move(fresh));
}

}  // namespace

Var embedding(const Tensor& indices, const Var& weight) {
  detail::require_defined("embedding", weight, "weight");
  const Tensor& w = weight.value();
  if (!indices.defined() || indices.dtype() != DType::i64) {
    throw Error("embedding: indices must be an int64 tensor, got " +
                (indices.defined() ? std::string(dtype_name(indices.dtype())) : "undefined"));
  }
  if (w.rank() != 2 || w.dtype() == DType::i64) {
    throw Error("embedding: weight must be a 2-D float tensor [num_embeddings, dim], got " +
                to_string(w.shape()));
  }
  const Tensor idx = indices.contiguous();
  const int64_t num = w.shape()[0];
  const int64_t dim = w.shape()[1];
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t k = 0; k < idx.numel(); ++k) {
    if (pi[k] < 0 || pi[k] >= num) {
      throw Error("embedding: index " + std::to_string(pi[k]) + " at flat position " +
                  std::to_string(k) + " of indices " + to_string(idx.shape()) +
                  " is out of range for weight " + to_string(w.shape()) + " (valid: 0 to " +
                  std::to_string(num - 1) + ")");
    }
  }
  OpTape rec = detail::op_begin("embedding", {&weight});
  Shape out_shape = idx.shape();
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape, w.dtype());
  const Tensor wc = w.contiguous();
  detail::visit_float(w.dtype(), "embedding", [&](auto tag) {
    using T = AFFINE_T(tag);
    const T* pw = wc.data<T>();
    T* po = out.data<T>();
    for (int64_t k = 0; k < idx.numel(); ++k) {
      std::copy(pw + pi[k] * dim, pw + (pi[k] + 1) * dim, po + k * dim);
    }
  });
  if (!rec) return Var(std::move(out));
  Node& n = rec.record(out, &embedding_backward, {&weight});
  n.saved[0] = idx;
  return rec.var;
}

}  // namespace affine
