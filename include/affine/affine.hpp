// affine: one include for the whole library (tensor, autograd, nn).
#pragma once

// IWYU pragma: begin_exports
#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/npy.hpp"
#include "affine/tensor/ops.hpp"
#include "affine/tensor/parallel.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"

#include "affine/autograd/gradcheck.hpp"
#include "affine/autograd/losses.hpp"
#include "affine/autograd/ops.hpp"
#include "affine/autograd/tape.hpp"
#include "affine/autograd/var.hpp"
// IWYU pragma: end_exports
