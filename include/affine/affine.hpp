// affine: one include for the whole library (tensor, autograd, nn).
#pragma once

// IWYU pragma: begin_exports
#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/linalg.hpp"
#include "affine/tensor/linear.hpp"
#include "affine/tensor/memory.hpp"
#include "affine/tensor/npy.hpp"
#include "affine/tensor/ops.hpp"
#include "affine/tensor/parallel.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"

#include "affine/autograd/gradcheck.hpp"
#include "affine/autograd/linalg.hpp"
#include "affine/autograd/losses.hpp"
#include "affine/autograd/nn_ops.hpp"
#include "affine/autograd/ops.hpp"
#include "affine/autograd/tape.hpp"
#include "affine/autograd/var.hpp"

#include "affine/nn/nn.hpp"  // every nn header (schedulers and clip_grad too)
// IWYU pragma: end_exports
