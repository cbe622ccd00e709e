// gradcheck: compares a function's analytic gradients (from the tape) with central differences.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"

namespace affine {

/// Tolerances of gradcheck(); the defaults are the documented ones.
struct AFFINE_API GradcheckOptions {
  double eps = 1e-6;   ///< central-difference step h
  double atol = 1e-5;  ///< pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
};

/// What gradcheck() found: ok, and on failure the worst element (input, index, both values).
struct AFFINE_API GradcheckResult {
  bool ok = true;
  /// Human-readable summary; names the worst input element on failure.
  std::string message;
  double max_abs_error = 0;
  /// Largest |analytic gradient| seen: a check whose gradients are all zero proves little.
  double max_abs_grad = 0;
};

/// Checks fn at inputs (converted to float64): for every input element, the analytic gradient of
/// every output element (by backward with one-hot seeds) against the central difference
/// (f(x + h) - f(x - h)) / 2h. For the analytic pass fn receives the inputs as leaves on a tape
/// of gradcheck's own (cleared and re-recorded once per output element); for the differences it
/// receives them as constants (Vars on no tape), so fn must work on both. float64 inputs keep
/// their layout (a transposed or sliced view stays one), so non-contiguous paths are exercised.
/// On failure, message names the worst element: input number, element index, output element,
/// both values and the tolerance. Costs one backward per output element and two evaluations of
/// fn per input element: meant for small test tensors.
AFFINE_API GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& fn,
                                     const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& options = {});

}  // namespace affine
