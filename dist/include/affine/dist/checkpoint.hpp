// Checkpoints of a data-parallel run: one file, written by rank 0, read by rank 0, shared by
// broadcast (so the file need exist on rank 0's machine only).
//
//   dist::save(world, model, "ckpt.safetensors", opt);   // rank 0 writes; all return together
//   dist::load(world, model, "ckpt.safetensors", opt);   // every rank gets rank 0's file contents
#pragma once

#include <string>

#include "affine/dist/world.hpp"
#include "affine/nn/checkpoint.hpp"
#include "affine/nn/optim.hpp"

namespace affine::dist {

/// Rank 0 writes nn::save(model, path, optimizer_state, metadata) (atomically: a temporary file
/// renamed into place); the other ranks wait for it. If rank 0 fails, every rank throws
/// affine::Error with rank 0's message.
void save(const World& world, nn::Module& model, const std::string& path,
          const nn::NamedTensors& optimizer_state = {}, const nn::Metadata& metadata = {});
/// The same with optimizer.state().
void save(const World& world, nn::Module& model, const std::string& path,
          const nn::optim::Optimizer& optimizer, const nn::Metadata& metadata = {});

/// Rank 0 loads path into model (nn::load, all-or-nothing) and, if given, optimizer; then every
/// rank receives rank 0's parameters, buffers and optimizer state. If rank 0 fails, every rank
/// throws affine::Error with rank 0's message and no rank's model changes.
void load(const World& world, nn::Module& model, const std::string& path,
          nn::optim::Optimizer* optimizer = nullptr);

}  // namespace affine::dist
