// Module-level checkpoints: a model's state_dict plus optional optimizer state in one
// safetensors file. Loading is all-or-nothing: the file is validated by load_safetensors, then
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

bool has_optimizer_prefix(std::string_view name) { return name.starts_with(kOptimizerPrefix); }

}  // namespace

void save(Module& model, const std::string& path, const NamedTensors& optimizer_state,
          const Metadata& metadata) {
  NamedTensors all;
  for (auto& [name, t] : model.state_dict()) {
    // Such a name would be read back as optimizer state and then reported missing.
    if (has_optimizer_prefix(name)) {
      throw Error("save: '" + path + "': parameter name '" + name + "' uses the prefix '" +
                  std::string(kOptimizerPrefix) + "' reserved for optimizer state");
    }
    all.emplace_back(name, t);
  }
  for (const auto& [name, t] : optimizer_state) {
    all.emplace_back(std::string(kOptimizerPrefix) + name, t);
  }
  save_safetensors(path, all, metadata);
}

void load(Module& model, const std::string& path,
          const OptimizerStateLoader& load_optimizer_state) {
  SafetensorsFile file = load_safetensors(path);

  NamedTensors model_state;
  NamedTensors optimizer_state;
  for (auto& [name, t] : file.tensors) {
    if (has_optimizer_prefix(name)) {
      optimizer_state.emplace_back(name.substr(kOptimizerPrefix.size()), std::move(t));
    } else {
      model_state.emplace_back(std::move(name), std::move(t));
    }
  }
  // Every problem is gathered before reporting, so one failed load shows the whole mismatch.
  const detail::StateDictLoad plan =
      detail::plan_state_dict_load(model.state_dict(), model_state, true, "file");
  if (!plan.problems.empty()) {
    throw Error(detail::state_dict_problems_message("load: '" + path + "' does not match the model",
                                                    "load", plan.problems));
  }
  // Before touching the model: if the optimizer refuses its state, the model stays as it was.
  if (load_optimizer_state) load_optimizer_state(optimizer_state);
  // Shapes and dtypes were checked above, so these copies cannot fail.
  detail::apply_state_dict_load(plan);
}

}  // namespace affine::nn
