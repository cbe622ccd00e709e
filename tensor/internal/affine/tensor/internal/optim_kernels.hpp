// Internal: the optimizers' per-element update loops (nn/src/optim.cpp's step()), here so they are
// compiled per ISA and chosen through tensor's one dispatch (affine::active_isa(), AFFINE_ISA).
// Every ISA performs the same operations per element, in the same order, without contraction:
// the results are bit-identical across ISAs (tests/optim_kernels_test.cpp checks it).
#pragma once

#include <cstdint>

namespace affine::detail {

/// torch.optim.SGD's hyper-parameters, and whether the momentum buffer is new this step.
struct SgdUpdate {
  double lr = 0;
  double weight_decay = 0;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  /// The momentum buffer was created by this step: PyTorch starts it at the gradient.
  bool first = false;
};

/// One parameter's SGD step over n elements, PyTorch's order of operations, rounded to the
/// parameter's dtype after each stage: d = g (+ weight_decay * w); with momentum (buf non-null,
/// n elements) buf = d on the first step, else momentum * buf + (1 - dampening) * d, and
/// d = d + momentum * buf (nesterov) or buf; finally w = w - lr * d.
void sgd_update(float* w, const float* g, float* buf, int64_t n, const SgdUpdate& u) noexcept;
void sgd_update(double* w, const double* g, double* buf, int64_t n, const SgdUpdate& u) noexcept;

}  // namespace affine::detail
