// Helpers shared by the gradcheck test files.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "affine/autograd/gradcheck.hpp"
#include "affine/autograd/var.hpp"

namespace affine::test {

using GradFn = std::function<Var(const std::vector<Var>&)>;

/// Passes when gradcheck passes and some analytic gradient is nonzero (a check comparing 0 with
/// 0 proves nothing).
inline ::testing::AssertionResult check_gradient(const GradFn& fn,
                                                 const std::vector<Tensor>& inputs) {
  const GradcheckResult r = gradcheck(fn, inputs);
  if (!r.ok) return ::testing::AssertionFailure() << r.message;
  if (!(r.max_abs_grad > 0))
    return ::testing::AssertionFailure() << "all analytic gradients are zero: " << r.message;
  return ::testing::AssertionSuccess() << r.message;
}

}  // namespace affine::test
