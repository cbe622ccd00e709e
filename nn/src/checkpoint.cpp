// Module-level checkpoints: a model's state_dict plus optional optimizer and scheduler state in
// one safetensors file. Loading is all-or-nothing: the file is validated by load_safetensors, then
// compared with the model as a whole, and parameters are written only once nothing can fail.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "affine/nn/checkpoint.hpp"
#include "affine/tensor/error.hpp"
#include "state_dict_load.hpp"

namespace affine::nn {

namespace {

// The reserved prefixes, each with the TrainingState member it fills.
constexpr std::pair<std::string_view, NamedTensors TrainingState::*> kSections[] = {
    {kOptimizerPrefix, &TrainingState::optimizer}, {kSchedulerPrefix, &TrainingState::scheduler}};

}  // namespace

void save(Module& model, const std::string& path, const TrainingState& training,
          const Metadata& metadata) {
  NamedTensors all;
  for (auto& [name, t] : model.state_dict()) {
    // Such a name would be read back as training state and then reported missing.
    for (const auto& [prefix, member] : kSections) {
      if (name.starts_with(prefix)) {
        throw Error("save: '" + path + "': parameter name '" + name + "' uses the prefix '" +
                    std::string(prefix) + "' reserved for " +
                    (member == &TrainingState::optimizer ? "optimizer" : "scheduler") + " state");
      }
    }
    all.emplace_back(name, t);
  }
  for (const auto& [prefix, member] : kSections) {
    for (const auto& [name, t] : training.*member) all.emplace_back(std::string(prefix) + name, t);
  }
  save_safetensors(path, all, metadata);
}

void save(Module& model, const std::string& path, const NamedTensors& optimizer_state,
          const Metadata& metadata) {
  save(model, path, TrainingState{optimizer_state, {}}, metadata);
}

void load(Module& model, const std::string& path, const TrainingStateLoader& load_training) {
  SafetensorsFile file = load_safetensors(path);

  NamedTensors model_state;
  TrainingState training;
  for (auto& [name, t] : file.tensors) {
    NamedTensors* section = &model_state;
    size_t skip = 0;
    for (const auto& [prefix, member] : kSections) {
      if (name.starts_with(prefix)) {
        section = &(training.*member);
        skip = prefix.size();
      }
    }
    section->emplace_back(name.substr(skip), std::move(t));
  }
  // Every problem is gathered before reporting, so one failed load shows the whole mismatch.
  const detail::StateDictLoad plan =
      detail::plan_state_dict_load(model.state_dict(), model_state, true, "file");
  if (!plan.problems.empty()) {
    throw Error(detail::state_dict_problems_message("load: '" + path + "' does not match the model",
                                                    "load", plan.problems));
  }
  // Before touching the model: if the optimizer or scheduler refuses its state, the model stays
  // as it was.
  if (load_training) load_training(training);
  // Shapes and dtypes were checked above, so these copies cannot fail.
  detail::apply_state_dict_load(plan);
}

void load(Module& model, const std::string& path,
          const OptimizerStateLoader& load_optimizer_state) {
  load(model, path, TrainingStateLoader([&](const TrainingState& training) {
         if (load_optimizer_state) load_optimizer_state(training.optimizer);
       }));
}

}  // namespace affine::nn
