// The tape: node storage, recording, the reverse loop, gradient accumulation.
#include "affine/autograd/tape.hpp"
#include "affine/tensor/internal/access.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/ops.hpp"
#include "tape_impl.hpp"

namespace affine {

namespace detail {

void internal_error(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "affine: internal error at %s:%d: %s\n", file, line, what.c_str());
  std::abort();
}

void require_defined(const char* op, const Var& v, const char* what) {
  if (!v.defined()) throw Error(std::string(op) + ": the " + what + " Var is undefined");
  check_fresh(op, v);
}

void check_alive(const char* op, const Var& v) {
  const TapeHandle* h = VarAccess::handle(v);
  if (h != nullptr && h->tape == nullptr) {
    throw Error(std::string(op) +
                ": Var: handle from a destroyed tape (the Tape it was recorded on no longer "
                "exists; keep the Tape alive while its Vars are used, or detach() values before)");
  }
}

void check_fresh(const char* op, const Var& v) {
  check_alive(op, v);
  const TapeHandle* h = VarAccess::handle(v);
  if (h != nullptr && VarAccess::generation(v) != h->tape->generation()) {
    throw Error(std::string(op) + ": Var: handle from a cleared tape (recorded before clear(); " +
                "record the computation again on the current graph)");
  }
}

Tensor reduce_to(Tensor c, const Shape& shape) {
  if (c.shape() == shape) return c;
  return affine::sum_to(c, shape);
}

void add_into(Tensor& dst, const Tensor& src) {
  AFFINE_AG_CHECK(dst.shape() == src.shape(),
                  "add_into: shapes " + to_string(dst.shape()) + " and " + to_string(src.shape()));
  check_same_float("backward", dst.dtype(), src.dtype());
  visit_float(dst.dtype(), "backward", [&](auto tag) {
    using T = AFFINE_T(tag);
    T* pd = dst.data<T>();
    const T* ps = src.data<T>();
    for_each_row<2>(dst.shape(), std::array<Strides, 2>{dst.strides(), src.strides()},
                    [&](const Offsets<2>& off, int64_t n, const Offsets<2>& inc) {
                      T* d = pd + off[0];
                      const T* s = ps + off[1];
                      if (inc[0] == 1 && inc[1] == 1) {
                        for (int64_t i = 0; i < n; ++i) d[i] += s[i];
                      } else {
                        for (int64_t i = 0; i < n; ++i) d[i * inc[0]] += s[i * inc[1]];
                      }
                    });
  });
}

namespace {

// True when t's buffer is referenced by t alone and laid out densely, so adding into it in place
// is invisible to anyone else.
bool exclusive(const Tensor& t) {
  return TensorAccess::storage(t).use_count() == 1 && t.is_contiguous();
}

// A Tape::param leaf whose Parameter was destroyed or moved from since it was recorded.
void check_param_alive(const Node& n) {
  if (n.param_alive.expired()) {
    throw Error(
        "backward: a parameter recorded with Tape::param was destroyed or moved from before "
        "backward (its module was moved or destroyed; the Parameter must outlive the graph)");
  }
}

// The version check of every tensor n's VJP reads (see tape_impl.hpp).
void check_saved_versions(const TapeImpl& tape, const Node& n) {
  for (const SavedTensor& s : n.saved) {
    if (!s.defined() || s.version() == s.saved_version()) continue;
    const char* what = "a tensor";
    if (s.shares_storage(n.value)) what = "the output";
    for (uint32_t in : n.in) {
      if (in != kNoInput && s.shares_storage(tape.nodes[in].value)) what = "an input";
    }
    throw Error("backward of " + std::string(n.op != nullptr ? n.op : "an op") + ": " + what +
                " saved for the gradient was modified in place (version " +
                std::to_string(s.saved_version()) + " -> " + std::to_string(s.version()) +
                "); modify a clone() instead, or modify after backward()");
  }
}

Tensor& param_grad(Node& n) {
  Parameter& p = *n.param;
  if (!p.grad.defined() || p.grad.shape() != p.value.shape() || p.grad.dtype() != p.value.dtype()) {
    p.grad = Tensor::zeros(p.value.shape(), p.value.dtype());
  }
  return p.grad;
}

// The index of each parameter's first leaf in nodes[0..last], ascending: where the reverse walk
// makes that parameter's gradient final.
std::vector<uint32_t> first_param_leaves(const std::vector<Node>& nodes, uint32_t last) {
  std::vector<uint32_t> out;
  std::unordered_set<const Parameter*> seen;
  for (uint32_t i = 0; i <= last; ++i) {
    if (nodes[i].param != nullptr && seen.insert(nodes[i].param).second) out.push_back(i);
  }
  return out;
}

}  // namespace

void TapeImpl::accumulate(uint32_t idx, Tensor c) {
  if (idx == kNoInput) return;
  Node& n = nodes[idx];
  if (!n.requires_grad) return;
  AFFINE_AG_CHECK(c.shape() == n.value.shape(), "gradient of shape " + to_string(c.shape()) +
                                                    " for a value of shape " +
                                                    to_string(n.value.shape()));
  if (n.param != nullptr) {
    check_param_alive(n);
    add_into(param_grad(n), c);
    return;
  }
  if (!n.grad.defined()) {
    n.grad = std::move(c);
  } else if (exclusive(n.grad)) {
    add_into(n.grad, c);
  } else {
    n.grad = affine::add(n.grad, c);
  }
}

Tensor* TapeImpl::accumulate_target(uint32_t idx) {
  if (idx == kNoInput) return nullptr;
  Node& n = nodes[idx];
  if (!n.requires_grad) return nullptr;
  if (n.param != nullptr) {
    check_param_alive(n);
    Tensor& g = param_grad(n);
    return g.is_contiguous() ? &g : nullptr;
  }
  if (n.grad.defined() && exclusive(n.grad)) return &n.grad;
  return nullptr;
}

Tensor* grad_buffer(TapeImpl& tape, uint32_t idx, const Shape& shape, DType dtype, const Node& n,
                    Tensor* fresh) {
  if (!tape.needs_grad(idx)) return nullptr;
  Tensor* target = tape.accumulate_target(idx);
  if (target != nullptr && target->is_contiguous() && !target->shares_storage(n.grad) &&
      !target->shares_storage(n.saved[0]) && !target->shares_storage(n.saved[1])) {
    return target;
  }
  *fresh = Tensor::zeros(shape, dtype);
  return fresh;
}

void hand_over(TapeImpl& tape, uint32_t idx, Tensor& fresh) {
  if (fresh.defined()) tape.accumulate(idx, std::move(fresh));
}

void TapeImpl::backward(uint32_t root, Tensor seed) {
  backpropagated = true;
  accumulate(root, std::move(seed));
  std::vector<uint32_t> ready;  // first leaves still to announce, popped from the back
  if (observer != nullptr) ready = first_param_leaves(nodes, root);
  // Creation order is a topological order: one reverse loop visits every node after all the
  // nodes that consume it. No recursion, so graph depth is limited only by memory.
  for (uint32_t i = root + 1; i-- > 0;) {
    Node& n = nodes[i];
    if (!ready.empty() && ready.back() == i) {
      ready.pop_back();
      observer->param_ready(*n.param);
    }
    if (n.backward == nullptr || !n.grad.defined()) continue;  // leaf, or no gradient arrived
    check_saved_versions(*this, n);
    n.backward(*this, n);
    // The graph is single-use: drop what only the VJP needed, and the intermediate gradient
    // unless the user asked to keep it, so peak memory stays near the forward pass's.
    for (SavedTensor& s : n.saved) s = Tensor();
    if (!n.retain_grad) n.grad = Tensor();
  }
  if (observer != nullptr) observer->backward_done();
}

Node& OpTape::record(const Tensor& value, BackwardFn backward,
                     std::initializer_list<const Var*> inputs) {
  TapeImpl& impl = TapeAccess::impl(*tape);
  AFFINE_AG_CHECK(impl.nodes.size() < kNoInput, "too many nodes on one tape");
  const auto index = static_cast<uint32_t>(impl.nodes.size());
  Node& n = impl.nodes.emplace_back();
  n.value = value;
  n.op = op;
  n.backward = backward;
  n.requires_grad = true;
  int k = 0;
  for (const Var* v : inputs) {
    // The limit comes from the type: Node{}.in.size() built and destroyed a 1.5 KB node per
    // input, 5% of the seed's step at batch 32.
    AFFINE_AG_CHECK(k < static_cast<int>(std::tuple_size_v<decltype(Node::in)>),
                    "a node has at most 5 inputs");
    n.in[k++] = (v != nullptr && v->tape() == tape) ? VarAccess::index(*v) : kNoInput;
  }
  for (int j = 0; j < k; ++j) {
    if (n.in[j] != kNoInput) ++impl.nodes[n.in[j]].consumers;
  }
  var = VarAccess::make(value, tape, index, impl.generation);
  return n;
}

OpTape op_begin(const char* op, std::initializer_list<const Var*> inputs) {
  Tape* tape = nullptr;
  bool any_grad = false;
  for (const Var* v : inputs) {
    if (v == nullptr || !v->defined() || v->tape() == nullptr) continue;
    check_fresh(op, *v);
    if (tape != nullptr && v->tape() != tape) {
      throw Error(std::string(op) +
                  ": inputs are recorded on different tapes (a graph lives on one tape; detach() "
                  "or re-record one of them)");
    }
    tape = v->tape();
    any_grad = any_grad || TapeAccess::impl(*tape).nodes[VarAccess::index(*v)].requires_grad;
  }
  OpTape r;
  r.op = op;
  if (tape != nullptr && any_grad && tape->recording()) r.tape = tape;
  return r;
}

}  // namespace detail

using detail::TapeImpl;

Tape::Tape() : impl_(std::make_unique<TapeImpl>()) { impl_->handle->tape = this; }
Tape::~Tape() { impl_->handle->tape = nullptr; }  // Vars still holding the handle see this

Var Tape::leaf(Tensor value, bool requires_grad) {
  if (!value.defined()) throw Error("Tape::leaf: the value is undefined");
  if (!impl_->recording) return Var(std::move(value));
  if (requires_grad && value.dtype() == DType::i64) {
    throw Error(
        "Tape::leaf: int64 values cannot require grad (convert with to(DType::f32) or "
        "to(DType::f64))");
  }
  const auto index = static_cast<uint32_t>(impl_->nodes.size());
  detail::Node& n = impl_->nodes.emplace_back();
  n.value = value;
  n.requires_grad = requires_grad;
  return VarAccess::make(std::move(value), this, index, impl_->generation);
}

Var Tape::param(Parameter& p) {
  if (!p.value.defined()) throw Error("Tape::param: the parameter's value is undefined");
  if (!impl_->recording) return Var(p.value);
  std::weak_ptr<const void> alive = p.lifetime();  // may allocate: before the node exists
  const auto index = static_cast<uint32_t>(impl_->nodes.size());
  detail::Node& n = impl_->nodes.emplace_back();
  n.value = p.value;
  n.param = &p;
  n.param_alive = std::move(alive);
  n.requires_grad = p.requires_grad;
  return VarAccess::make(p.value, this, index, impl_->generation);
}

namespace {

void check_root(Tape* self, const Var& root) {
  if (!root.defined()) throw Error("backward: the root Var is undefined");
  detail::check_alive("backward", root);
  if (root.tape() == nullptr) {
    throw Error(
        "backward: the root is a constant (on no tape); record it on a Tape from "
        "Tape::leaf or Tape::param values");
  }
  detail::check_fresh("backward", root);
  if (root.tape() != self) throw Error("backward: the root Var is recorded on another tape");
  if (TapeAccess::impl(*self).backpropagated) {
    throw Error(
        "backward: the graph was already backpropagated; clear() the tape and record "
        "again");
  }
  if (!TapeAccess::impl(*self).nodes[VarAccess::index(root)].requires_grad) {
    throw Error(
        "backward: the root does not require grad (no input of it was a leaf with "
        "requires_grad or a parameter)");
  }
}

}  // namespace

void Tape::backward(const Var& root) {
  check_root(this, root);
  const Tensor& v = VarAccess::raw_value(root);
  if (v.numel() != 1) {
    throw Error("backward: the root has shape " + to_string(v.shape()) + " (" +
                std::to_string(v.numel()) +
                " elements); only a scalar root has an implied seed gradient: reduce it (sum, "
                "mean) or pass a seed of that shape");
  }
  impl_->backward(VarAccess::index(root), Tensor::ones(v.shape(), v.dtype()));
}

void Tape::backward(const Var& root, const Tensor& seed) {
  check_root(this, root);
  const Tensor& v = VarAccess::raw_value(root);
  if (!seed.defined()) throw Error("backward: the seed gradient is undefined");
  if (seed.shape() != v.shape()) {
    throw Error("backward: seed shape " + to_string(seed.shape()) + " differs from the root's " +
                to_string(v.shape()));
  }
  if (seed.dtype() == DType::i64) throw Error("backward: the seed must be float32 or float64");
  impl_->backward(VarAccess::index(root), seed.dtype() == v.dtype() ? seed : seed.to(v.dtype()));
}

void Tape::clear() {
  impl_->nodes.clear();  // destroys the nodes, keeps the capacity
  impl_->aux.clear();
  impl_->backpropagated = false;
  impl_->observer = nullptr;
  ++impl_->generation;
}

void Tape::set_backward_observer(BackwardObserver* observer) { impl_->observer = observer; }

size_t Tape::size() const { return impl_->nodes.size(); }
size_t Tape::capacity() const { return impl_->nodes.capacity(); }
bool Tape::recording() const { return impl_->recording; }
uint32_t Tape::generation() const { return impl_->generation; }

NoGradGuard::NoGradGuard(Tape& tape) : tape_(tape), previous_(tape.impl_->recording) {
  tape_.impl_->recording = false;
}
NoGradGuard::~NoGradGuard() { tape_.impl_->recording = previous_; }

}  // namespace affine
