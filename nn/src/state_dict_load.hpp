// Checking a state (a state_dict, or a checkpoint's tensors) against a module before loading it,
// shared by Module::load_state_dict and nn::load so both report problems alike and both load
// all-or-nothing.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "affine/nn/module.hpp"

namespace affine::nn::detail {

/// What loading `source` into `target` would do.
struct StateDictLoad {
  /// (destination, source) pairs: the destination shares storage with the module.
  std::vector<std::pair<Tensor, Tensor>> copies;
  /// Names skipped by a non-strict load.
  LoadStateDictResult skipped;
  /// One line per problem, e.g. "'bias' is [5] in the file but [4] in the model".
  std::vector<std::string> problems;
};

/// Compares target (a module's state_dict()) with source; `where` names the source in messages
/// ("file", "state"). With strict, missing and unexpected names are problems; without, they are
/// skipped. Shape and dtype mismatches are always problems; floating dtypes convert.
StateDictLoad plan_state_dict_load(const NamedTensors& target, const NamedTensors& source,
                                   bool strict, const char* where);

/// Performs the copies of a plan without problems (they cannot fail: shapes and dtypes were
/// checked).
void apply_state_dict_load(const StateDictLoad& plan);

/// "<header> (N problems):\n  <op>: <problem>..." as one message.
std::string state_dict_problems_message(const std::string& header, const char* op,
                                        const std::vector<std::string>& problems);

}  // namespace affine::nn::detail
