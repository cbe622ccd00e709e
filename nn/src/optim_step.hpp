// Internal: the two-phase step that makes every optimizer's step() all-or-nothing.
//
// Phase 1 (StepPlan's constructor and stage()) does everything that can throw: it checks that
// every parameter is alive (not destroyed or moved from since the optimizer was built), float,
// with a gradient of its value's shape and dtype; it checks every existing state buffer against
// its parameter and allocates the missing ones; it makes contiguous copies of strided values.
// Nothing the user can see has changed yet. Phase 2 (commit) runs the update on every parameter
// and cannot throw: the optimizer's own counters (Adam's step) change just before it.
//
// An optimizer's step() reads, for example:
//
//   void Adam::step() {
//     StepPlan plan(*this, "Adam::step");                       // phase 1
//     const int m = plan.stage(exp_avg_, StateInit::zeros);      // slot.state[m]
//     const int v = plan.stage(exp_avg_sq_, StateInit::zeros);
//     ++step_;                                                    // phase 2 from here
//     plan.commit([&]<class T>(StepSlot& s, T* w, const T* g, int64_t n) noexcept { ... });
//   }
//
// The update lambda gets the slot (s.state[k] holds the staged buffers, s.fresh[k] says whether
// this step created them, s.index is the parameter's position), the value and gradient pointers
// in the parameter's dtype, and the element count.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "affine/nn/optim.hpp"

namespace affine::nn::optim::detail {

/// How stage() creates a buffer that does not exist yet.
enum class StateInit { zeros, uninitialized };

/// One parameter's part in a step.
struct StepSlot {
  size_t index = 0;            ///< position in Optimizer::params()
  Parameter* param = nullptr;  ///< the parameter (checked alive)
  Tensor value;  ///< contiguous: the parameter's own storage, or a copy commit() writes back
  Tensor grad;   ///< contiguous gradient
  std::array<Tensor, 4> state;  ///< buffers staged by stage(), in call order
  std::array<bool, 4> fresh{};  ///< state[k] was created by this step
};

class StepPlan {
 public:
  /// Phase 1: checks every parameter and prepares a slot for each one that will be updated
  /// (requires_grad and a defined value). Throws affine::Error naming op and the parameter.
  /// The slots live in the optimizer (capacity kept), so a step in steady state allocates nothing.
  StepPlan(Optimizer& opt, const char* op);
  /// Releases the slots' tensors (keeps the capacity).
  ~StepPlan();
  StepPlan(const StepPlan&) = delete;
  StepPlan& operator=(const StepPlan&) = delete;

  /// Stages buffers[i] for every slot: an existing buffer must match the parameter's shape and
  /// dtype (else affine::Error: the parameter changed since the state was made); a missing one is
  /// allocated. Returns k, the index of the buffer in StepSlot::state. buffers must have one entry
  /// per parameter and stay alive until commit(), which stores the new buffers into it.
  int stage(std::vector<Tensor>& buffers, const char* name, StateInit init);

  /// Phase 2: installs the staged buffers, runs update.template operator()<T>(slot, w, g, n) on
  /// every slot, writes copies back into strided parameters and bumps the versions of the values.
  template <class Fn>
  void commit(Fn&& update) noexcept {
    for (size_t k = 0; k < n_staged_; ++k) {
      for (StepSlot& s : slots_) (*staged_[k])[s.index] = s.state[k];
    }
    for (StepSlot& s : slots_) {
      if (s.value.dtype() == DType::f32) {
        update.template operator()<float>(s, s.value.data<float>(), s.grad.data<float>(),
                                          s.value.numel());
      } else {
        update.template operator()<double>(s, s.value.data<double>(), s.grad.data<double>(),
                                           s.value.numel());
      }
      finish(s);
    }
  }

  const std::vector<StepSlot>& slots() const { return slots_; }

 private:
  static void finish(StepSlot& s) noexcept;
  const char* op_;
  std::vector<StepSlot>& slots_;  // Optimizer::step_slots_
  std::array<std::vector<Tensor>*, 4> staged_{};
  size_t n_staged_ = 0;
};

}  // namespace affine::nn::optim::detail
