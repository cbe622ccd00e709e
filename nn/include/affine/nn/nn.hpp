// affine::nn in one include: modules, layers, Sequential, losses, initialisers, optimizers,
// gradient clipping, data, checkpoints.
#pragma once

// IWYU pragma: begin_exports
#include "affine/nn/activation.hpp"
#include "affine/nn/checkpoint.hpp"
#include "affine/nn/clip_grad.hpp"
#include "affine/nn/conv.hpp"
#include "affine/nn/data.hpp"
#include "affine/nn/dropout.hpp"
#include "affine/nn/embedding.hpp"
#include "affine/nn/init.hpp"
#include "affine/nn/layers.hpp"
#include "affine/nn/losses.hpp"
#include "affine/nn/lr_scheduler.hpp"
#include "affine/nn/module.hpp"
#include "affine/nn/norm.hpp"
#include "affine/nn/optim.hpp"
#include "affine/nn/sequential.hpp"
// IWYU pragma: end_exports
