// The tape of reverse-mode autodiff.
//
// Operations append nodes in creation order, which is already a topological order, so backward()
// is one reverse loop: no recursion (a 100,000-op chain is fine) and no sort. Nodes name their
// inputs by index and their vector-Jacobian products are plain functions, so no node owns another
// and no reference cycle can leak. clear() drops a step's graph in one go and keeps the storage
// for the next step, so a training loop stops growing the tape after its first step.
//
// Gradients: a Tape::leaf keeps its gradient (Var::grad) until clear(); a Tape::param leaf adds
// into Parameter::grad, which persists across tapes and steps until Parameter::zero_grad();
// intermediate gradients are freed as backward passes them (Var::retain_grad keeps one). The
// recorded graph is single-use: after backward(), clear() and record again.
//
// Exception guarantees: recording an op is strong (a throwing op adds no node). backward() is
// basic: its argument checks (root, seed) happen before anything changes, but an error during the
// reverse loop (a tensor saved for backward was modified in place, a Parameter died, memory ran
// out) leaves the gradients accumulated so far in Parameter::grad and in leaves, and the graph
// counts as backpropagated. Recover with zero_grad() on the parameters, clear(), and a new
// forward pass. A Var that outlives its Tape throws "handle from a destroyed tape" when used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine {

namespace detail {
struct TapeImpl;
}

/// Watches a backward pass, e.g. to start sending finished gradients over the network while the
/// reverse walk goes on (dist::DataParallel). Set with Tape::set_backward_observer.
class AFFINE_API BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  /// The reverse walk has passed the parameter's leaf (its first one, if Tape::param recorded it
  /// more than once): every use comes after the leaf, so p.grad is final for this backward.
  virtual void param_ready(Parameter& p) = 0;
  /// The reverse walk finished (after every param_ready). Not called if a VJP threw.
  virtual void backward_done() = 0;
};

class AFFINE_API Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// A leaf holding value. With requires_grad, backward() leaves its gradient in Var::grad().
  Var leaf(Tensor value, bool requires_grad = true);
  /// The parameter as a leaf on this tape: backward() accumulates into param.grad. The Parameter
  /// must outlive the tape's current graph (until clear()).
  Var param(Parameter& param);

  /// Backpropagates from a scalar (numel 1) root: seed gradient 1. Throws affine::Error for a
  /// non-scalar root, a root on another tape, a stale root, or a graph already backpropagated
  /// (call clear() and record again).
  void backward(const Var& root);
  /// Backpropagates from any root with the given seed gradient (same shape as the root).
  void backward(const Var& root, const Tensor& seed);

  /// Frees the recorded graph; every Var recorded so far becomes stale. Keeps reserved storage.
  /// Also removes the backward observer.
  void clear();
  /// Sets (nullptr: removes) the observer of the current graph's backward. It must outlive the
  /// graph; clear() removes it, so set it again for each recorded step.
  void set_backward_observer(BackwardObserver* observer);
  /// Nodes recorded since the last clear().
  size_t size() const;
  /// Nodes the tape has room for without reallocating (a documented counter: it stops growing
  /// once a training loop has run one step).
  size_t capacity() const;
  /// False inside a NoGradGuard on this tape.
  bool recording() const;
  /// Incremented by clear(); Vars remember the generation they were recorded in.
  uint32_t generation() const;

 private:
  friend class NoGradGuard;
  friend struct TapeAccess;  // autograd/src's ops reach the node storage through it
  std::unique_ptr<detail::TapeImpl> impl_;
};

/// While alive, operations on Vars of this tape record nothing and return constants (inference,
/// or parameter updates written with autograd ops). Nests.
class AFFINE_API NoGradGuard {
 public:
  explicit NoGradGuard(Tape& tape);
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  Tape& tape_;
  bool previous_;
};

}  // namespace affine
