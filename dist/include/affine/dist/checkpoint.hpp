// Checkpoints of a data-parallel run: one file, written by rank 0, read by rank 0, shared by
// broadcast (so the file need exist on rank 0's machine only).
//
//   dist::save(world, model, "ckpt.safetensors", opt);   // rank 0 writes; all return together
//   dist::load(world, model, "ckpt.safetensors", &opt);  // every rank gets rank 0's file contents
//   dist::save(world, model, "ckpt.safetensors", opt, sched);  // with a scheduler's state
//   dist::load(world, model, "ckpt.safetensors", opt, sched);
#pragma once

#include <functional>
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

/// Rank 0 writes nn::save(model, path, training, metadata): the model with an optimizer's and a
/// scheduler's state; the other ranks wait. If rank 0 fails, every rank throws affine::Error.
void save(const World& world, nn::Module& model, const std::string& path,
          const nn::TrainingState& training, const nn::Metadata& metadata = {});

/// Something whose state a checkpoint keeps (an optimizer or a scheduler), seen through its
/// state() and load_state().
struct StateHandle {
  std::function<nn::NamedTensors()> state;
  std::function<void(const nn::NamedTensors&)> load_state;
};

/// Rank 0 loads path into model, optimizer and scheduler (nn::load: all three or none); then
/// every rank receives rank 0's parameters, buffers, optimizer and scheduler state. If rank 0
/// fails, every rank throws affine::Error with rank 0's message and nothing changes anywhere.
void load(const World& world, nn::Module& model, const std::string& path,
          const StateHandle& optimizer, const StateHandle& scheduler);

/// save(world, model, path, {optimizer.state(), scheduler.state()}, metadata).
template <nn::StatefulOptimizer O, nn::StatefulScheduler S>
void save(const World& world, nn::Module& model, const std::string& path, const O& optimizer,
          const S& scheduler, const nn::Metadata& metadata = {}) {
  save(world, model, path,
       nn::TrainingState{nn::NamedTensors(optimizer.state()), nn::NamedTensors(scheduler.state())},
       metadata);
}

/// Loads model, optimizer and scheduler on every rank from rank 0's file (see above).
template <nn::StatefulOptimizer O, nn::StatefulScheduler S>
void load(const World& world, nn::Module& model, const std::string& path, O& optimizer,
          S& scheduler) {
  load(world, model, path,
       StateHandle{[&optimizer] { return nn::NamedTensors(optimizer.state()); },
                   [&optimizer](const nn::NamedTensors& s) { optimizer.load_state(s); }},
       StateHandle{[&scheduler] { return nn::NamedTensors(scheduler.state()); },
                   [&scheduler](const nn::NamedTensors& s) { scheduler.load_state(s); }});
}

}  // namespace affine::dist
