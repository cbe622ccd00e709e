// Module-level checkpoints: a model's named parameters plus optional optimizer state in one
// safetensors file. Loading is all-or-nothing: the file is validated by load_safetensors, then
// compared with the model as a whole, and parameters are written only once nothing can fail.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "affine/nn/checkpoint.hpp"
#include "affine/tensor/error.hpp"

namespace affine::nn {

namespace {

const char* file_dtype(DType d) {
  switch (d) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
  }
  return "?";
}

bool has_optimizer_prefix(std::string_view name) { return name.starts_with(kOptimizerPrefix); }

// Built by appending: g++ 12 warns falsely (-Wrestrict) on "'" + std::string(...).
std::string quoted(std::string_view name) {
  std::string s;
  s.reserve(name.size() + 2);
  s += '\'';
  s += name;
  s += '\'';
  return s;
}

}  // namespace

void save(Module& model, const std::string& path, const NamedTensors& optimizer_state,
          const Metadata& metadata) {
  NamedTensors all;
  for (auto& [name, param] : model.named_parameters()) {
    // Such a name would be read back as optimizer state and then reported missing.
    if (has_optimizer_prefix(name)) {
      throw Error("save: '" + path + "': parameter name '" + name + "' uses the prefix '" +
                  std::string(kOptimizerPrefix) + "' reserved for optimizer state");
    }
    all.emplace_back(name, param->value);
  }
  for (const auto& [name, t] : optimizer_state) {
    all.emplace_back(std::string(kOptimizerPrefix) + name, t);
  }
  save_safetensors(path, all, metadata);
}

void load(Module& model, const std::string& path,
          const OptimizerStateLoader& load_optimizer_state) {
  SafetensorsFile file = load_safetensors(path);

  std::map<std::string_view, const Tensor*> in_file;
  NamedTensors optimizer_state;
  for (const auto& [name, t] : file.tensors) {
    if (has_optimizer_prefix(name)) {
      optimizer_state.emplace_back(name.substr(kOptimizerPrefix.size()), t);
    } else {
      in_file.emplace(name, &t);
    }
  }

  // Gather every problem before reporting, so one failed load shows the whole mismatch.
  std::vector<std::string> problems;
  std::vector<std::pair<Parameter*, const Tensor*>> plan;
  auto params = model.named_parameters();
  for (auto& [name, param] : params) {
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.push_back(quoted(name) + " is in the model but missing from the file");
      continue;
    }
    const Tensor& src = *it->second;
    const Tensor& dst = param->value;
    if (src.dtype() != dst.dtype()) {
      problems.push_back(quoted(name) + " is " + file_dtype(src.dtype()) + " " +
                         to_string(src.shape()) + " in the file but " + file_dtype(dst.dtype()) +
                         " " + to_string(dst.shape()) + " in the model");
    } else if (!(src.shape() == dst.shape())) {
      problems.push_back(quoted(name) + " is " + to_string(src.shape()) + " in the file but " +
                         to_string(dst.shape()) + " in the model");
    } else {
      plan.emplace_back(param, &src);
    }
    in_file.erase(it);
  }
  for (const auto& [name, t] : in_file) {
    problems.push_back(quoted(name) + " is in the file but not in the model");
  }
  if (!problems.empty()) {
    std::string msg = "load: '" + path + "' does not match the model (" +
                      std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem):" : " problems):");
    for (const auto& p : problems) msg += "\n  load: " + p;
    throw Error(msg);
  }

  // Before touching the model: if the optimizer refuses its state, the model stays as it was.
  if (load_optimizer_state) load_optimizer_state(optimizer_state);

  // Same shape and dtype were checked above, so these copies cannot fail.
  for (auto& [param, src] : plan) param->value.copy_(*src);
}

}  // namespace affine::nn
