// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_: call between
// backward() and the optimizer's step().
//
//   loss.backward();
//   const double norm = nn::clip_grad_norm_(net.parameters(), 1.0);
//   opt.step();
//
// Parameters with requires_grad == false are skipped, as PyTorch skips parameters without a
// gradient. Both functions check every parameter before changing any gradient.
#pragma once

#include <limits>
#include <vector>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn {

/// The norm_type of the infinity norm (the largest absolute gradient element).
inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Scales the gradients so that their total norm (the norm_type-norm of all gradient elements
/// together) is at most max_norm: every gradient is multiplied by
/// min(1, max_norm / (total + 1e-6)). Returns the total norm before clipping (0 for no
/// parameters). A non-finite total makes the gradients non-finite too, as in PyTorch, unless
/// error_if_nonfinite is set: then affine::Error is thrown and nothing changes. Throws
/// affine::Error for max_norm < 0 or NaN, norm_type <= 0 or NaN (kInfNorm is allowed), a null
/// parameter or a gradient whose shape or dtype differs from its value's.
AFFINE_API double clip_grad_norm_(const std::vector<Parameter*>& params, double max_norm,
                                  double norm_type = 2.0, bool error_if_nonfinite = false);

/// Clamps every gradient element to [-clip_value, clip_value] (NaN stays NaN). Throws
/// affine::Error for clip_value < 0 or NaN, a null parameter or a mismatched gradient.
AFFINE_API void clip_grad_value_(const std::vector<Parameter*>& params, double clip_value);

}  // namespace affine::nn
