// affine: one include for the whole library (tensor, autograd, nn).
#pragma once

#include "affine/tensor/tensor.hpp"  // IWYU pragma: export
#include "affine/tensor/ops.hpp"     // IWYU pragma: export
#include "affine/tensor/random.hpp"  // IWYU pragma: export
#include "affine/tensor/npy.hpp"     // IWYU pragma: export
#include "affine/tensor/gemm.hpp"    // IWYU pragma: export
#include "affine/tensor/parallel.hpp"  // IWYU pragma: export
