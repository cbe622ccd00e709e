// Checkpoints of a data-parallel run: rank 0 does the file work, the others follow by broadcast.
#include "affine/dist/checkpoint.hpp"

#include <exception>
#include <string>

#include "affine/dist/collectives.hpp"
#include "affine/tensor/error.hpp"
#include "comm.hpp"

namespace affine::dist {

namespace {

// Runs fn on rank 0 and tells every rank how it went: "" or rank 0's error message.
template <class Fn>
void on_rank0(const World& world, const char* op, Fn&& fn) {
  std::string error;
  if (world.rank() == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  broadcast(world, error, 0);
  if (!error.empty()) throw Error(std::string(op) + ": on rank 0: " + error);
}

}  // namespace

void save(const World& world, nn::Module& model, const std::string& path,
          const nn::NamedTensors& optimizer_state, const nn::Metadata& metadata) {
  on_rank0(world, "dist::save", [&] { nn::save(model, path, optimizer_state, metadata); });
}

void save(const World& world, nn::Module& model, const std::string& path,
          const nn::optim::Optimizer& optimizer, const nn::Metadata& metadata) {
  save(world, model, path, nn::NamedTensors(optimizer.state()), metadata);
}

void save(const World& world, nn::Module& model, const std::string& path,
          const nn::TrainingState& training, const nn::Metadata& metadata) {
  on_rank0(world, "dist::save", [&] { nn::save(model, path, training, metadata); });
}

void load(const World& world, nn::Module& model, const std::string& path,
          const StateHandle& optimizer, const StateHandle& scheduler) {
  on_rank0(world, "dist::load", [&] {
    // A StateHandle has state() and load_state(), so nn's own all-or-nothing order applies.
    StateHandle opt = optimizer, sched = scheduler;
    nn::load(model, path, opt, sched);
  });
  for (auto& [name, t] : model.state_dict()) broadcast(world, t, 0);
  nn::NamedTensors sched = scheduler.state();
  nn::NamedTensors optim = optimizer.state();
  broadcast(world, sched, 0);
  broadcast(world, optim, 0);
  if (world.rank() != 0) {
    scheduler.load_state(sched);
    optimizer.load_state(optim);
  }
}

void load(const World& world, nn::Module& model, const std::string& path,
          nn::optim::Optimizer* optimizer) {
  on_rank0(world, "dist::load", [&] {
    if (optimizer != nullptr) {
      nn::load(model, path, [&](const nn::NamedTensors& s) { optimizer->load_state(s); });
    } else {
      nn::load(model, path);
    }
  });
  for (auto& [name, t] : model.state_dict()) broadcast(world, t, 0);
  if (optimizer != nullptr) {
    nn::NamedTensors state = optimizer->state();
    broadcast(world, state, 0);
    if (world.rank() != 0) optimizer->load_state(state);
  }
}

}  // namespace affine::dist
