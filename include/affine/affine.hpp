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

#include "affine/nn/activation.hpp"
#include "affine/nn/checkpoint.hpp"
#include "affine/nn/conv.hpp"
#include "affine/nn/data.hpp"
#include "affine/nn/dropout.hpp"
#include "affine/nn/embedding.hpp"
#include "affine/nn/init.hpp"
#include "affine/nn/layers.hpp"
#include "affine/nn/losses.hpp"
#include "affine/nn/module.hpp"
#include "affine/nn/norm.hpp"
#include "affine/nn/optim.hpp"
#include "affine/nn/sequential.hpp"
// IWYU pragma: end_exports
