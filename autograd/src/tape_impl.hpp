// Internal: the node storage of a Tape and the helpers every differentiable op uses.
//
// A node is a plain struct in a std::vector that clear() empties without giving back capacity.
// It names its inputs by index (at most three; ops with more inputs, like concat, keep the rest in
// the tape's aux array), keeps the few tensors and scalars its vector-Jacobian product needs
// inline, and points at that VJP with a plain function pointer. Nothing in a node owns another
// node, so a graph can never keep itself alive.
//
// Writing an op (see elementwise.cpp for many examples):
//
//   Var mul(const Var& a, const Var& b) {
//     OpTape rec = op_begin("mul", {&a, &b});        // tape checks: stale, mixed tapes
//     Tensor out = affine::mul(a.value(), b.value()); // forward kernel from tensor/ (shape check)
//     if (!rec) return Var(std::move(out));            // constants / no grad: nothing recorded
//     Node& n = rec.record(out, &mul_backward, {&a, &b});
//     n.saved[0] = a.value(); n.saved[1] = b.value();
//     return rec.var;
//   }
//
// and the VJP right beside it reads n.grad (the gradient of the op's output) and calls
// tape.accumulate(n.in[k], contribution) for each input that needs_grad().
//
// In-place safety (PyTorch's version counter): every tensor a VJP reads must be stored in
// n.saved. Assigning to a slot records the tensor's version (Tensor::version); before running the
// VJP, backward checks every slot and throws affine::Error "backward of mul: an input saved for the
// gradient was modified in place (version 0 -> 1)" if the storage changed since. That is the whole
// contract: no call to make. Keeping a tensor anywhere else (a captured copy, n.dims, aux) bypasses
// the check; an op that needs more than Node::saved.size() tensors grows that array. The op's
// name (op_begin's first argument) is what the message names.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "affine/autograd/tape.hpp"
#include "affine/autograd/var.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine {

/// Internal access to Var's private fields (declared a friend in var.hpp).
struct VarAccess {
  static Var make(Tensor value, Tape* tape, uint32_t index, uint32_t generation);
  static uint32_t index(const Var& v) { return v.index_; }
  static uint32_t generation(const Var& v) { return v.generation_; }
  /// The tape handle, or nullptr for a constant.
  static const detail::TapeHandle* handle(const Var& v) { return v.tape_.get(); }
  /// The value without the stale check (callers have checked).
  static const Tensor& raw_value(const Var& v) { return v.value_; }
};

namespace detail {
struct TapeImpl;
struct Node;
}  // namespace detail

/// Internal access to a Tape's node storage (declared a friend in tape.hpp).
struct TapeAccess {
  static detail::TapeImpl& impl(Tape& tape) { return *tape.impl_; }
};

namespace detail {

/// What a Var holds to reach its tape: the Tape sets `tape` to null when it is destroyed, so a Var
/// that outlives its Tape raises "handle from a destroyed tape" instead of reading freed memory.
struct TapeHandle {
  Tape* tape = nullptr;
};

/// A tensor a VJP needs, with the version of its storage when it was saved (recorded by the
/// assignment). A Tensor in every other respect, so VJPs read it as one.
class SavedTensor : public Tensor {
 public:
  SavedTensor() = default;
  SavedTensor& operator=(const Tensor& t) {
    Tensor::operator=(t);
    version_ = t.version();
    return *this;
  }
  SavedTensor& operator=(Tensor&& t) noexcept {
    version_ = t.version();
    Tensor::operator=(std::move(t));
    return *this;
  }
  /// The version when saved; backward compares it with version().
  uint64_t saved_version() const { return version_; }

 private:
  uint64_t version_ = 0;
};

/// An input slot that is a constant (no node to send a gradient to).
inline constexpr uint32_t kNoInput = 0xffffffffu;

/// A vector-Jacobian product: reads node.grad (dLoss/dOutput) and the node's saved data, and
/// accumulates dLoss/dInput into the tape for every input that needs it.
using BackwardFn = void (*)(TapeImpl& tape, Node& node);

struct Node {
  Tensor value;              ///< the op's output (the Var holds the same tensor)
  const char* op = nullptr;  ///< the op's name (a string literal), for error messages
  Tensor grad;  ///< dLoss/dvalue, allocated during backward (undefined: no gradient reached)
  BackwardFn backward = nullptr;          ///< null for leaves
  Parameter* param = nullptr;             ///< for Tape::param leaves: gradients go to param->grad
  std::weak_ptr<const void> param_alive;  ///< expires when *param is destroyed or moved from
  std::array<uint32_t, 5> in{kNoInput, kNoInput, kNoInput, kNoInput, kNoInput};
  bool requires_grad = false;
  bool retain_grad = false;  ///< keep grad of a non-leaf after its VJP ran (Var::retain_grad)
  uint32_t consumers = 0;    ///< inputs slots of later nodes that name this node
  std::array<SavedTensor, 5> saved;  ///< tensors the VJP needs (inputs, output, indices...)
  std::array<double, 2> scalar{};    ///< scalar arguments (exponent, clamp bounds, scale...)
  std::array<int64_t, 4> ints{};     ///< integer arguments (axis, keepdim, slice bounds...)
  Dims dims;                         ///< an axis list, permutation or shape
};

struct TapeImpl {
  /// Shared with every Var recorded on this tape (see TapeHandle).
  std::shared_ptr<TapeHandle> handle = std::make_shared<TapeHandle>();
  std::vector<Node> nodes;
  /// Variable-length per-node data (concat's inputs); cleared with the nodes, capacity kept.
  std::vector<int64_t> aux;
  uint32_t generation = 0;
  bool recording = true;
  bool backpropagated = false;
  BackwardObserver* observer = nullptr;  ///< Tape::set_backward_observer; cleared by clear()

  bool needs_grad(uint32_t idx) const { return idx != kNoInput && nodes[idx].requires_grad; }

  /// Adds contribution (shape of the input's value) to the gradient of node idx: into
  /// Parameter::grad for parameter leaves, else into the node's grad. A node's gradient buffer is
  /// updated in place only when nothing else references it; otherwise (a view of another
  /// gradient, a user's seed) a fresh sum replaces it.
  void accumulate(uint32_t idx, Tensor contribution);

  /// A contiguous buffer that a kernel may accumulate into directly (GEMM with beta = 1) as the
  /// gradient of node idx, or nullptr when the node has no such buffer yet (then compute a fresh
  /// tensor and accumulate() it).
  Tensor* accumulate_target(uint32_t idx);

  /// Checks and runs the reverse loop (Tape::backward).
  void backward(uint32_t root, Tensor seed);
};

/// tanh's VJP (elementwise.cpp), named so linear can record a linear over a tanh as one op.
void tanh_vjp(TapeImpl& tape, Node& node);

/// The tape an op records on, decided from its inputs before the forward computation.
struct OpTape {
  Tape* tape = nullptr;      ///< set when the op must record a node
  const char* op = nullptr;  ///< the op's name, from op_begin
  Var var;                   ///< after record(): the Var to return
  explicit operator bool() const { return tape != nullptr; }

  /// Appends the node for value with its VJP and inputs (undefined Vars and constants become
  /// kNoInput); the returned reference is valid until the next node is recorded.
  Node& record(const Tensor& value, BackwardFn backward, std::initializer_list<const Var*> inputs);
};

/// Checks the op's Var inputs (nullptr and undefined entries are skipped): stale handles and
/// inputs on two different tapes throw affine::Error naming op. Returns an OpTape that records
/// when some input is on a recording tape and requires grad.
OpTape op_begin(const char* op, std::initializer_list<const Var*> inputs);

/// Throws affine::Error naming op unless v is defined and not stale.
void require_defined(const char* op, const Var& v, const char* what = "input");

/// The "Var: handle from a cleared tape" and "... destroyed tape" checks, with the operation's
/// name in front.
void check_fresh(const char* op, const Var& v);

/// The "Var: handle from a destroyed tape" check alone.
void check_alive(const char* op, const Var& v);

/// c reduced (summed) to shape when broadcasting made it larger; c itself when shapes agree.
Tensor reduce_to(Tensor c, const Shape& shape);

/// dst += src elementwise (same shape; src may have any strides, dst must not overlap itself).
void add_into(Tensor& dst, const Tensor& src);

/// The gradient buffer of node n's input slot idx that a kernel may add into directly (usually
/// Parameter::grad), or else a fresh zeroed tensor of shape and dtype in *fresh, to hand to the
/// tape afterwards with hand_over(); nullptr when the input needs no gradient.
Tensor* grad_buffer(TapeImpl& tape, uint32_t idx, const Shape& shape, DType dtype, const Node& n,
                    Tensor* fresh);

/// Accumulates a gradient grad_buffer() returned in *fresh (nothing when it is undefined).
void hand_over(TapeImpl& tape, uint32_t idx, Tensor& fresh);

/// Aborts with file:line: an internal invariant that cannot be the user's fault.
[[noreturn]] void internal_error(const char* file, int line, const std::string& what);

}  // namespace detail
}  // namespace affine

#define AFFINE_AG_CHECK(cond, what)                                          \
  do {                                                                       \
    if (!(cond)) ::affine::detail::internal_error(__FILE__, __LINE__, what); \
  } while (0)
