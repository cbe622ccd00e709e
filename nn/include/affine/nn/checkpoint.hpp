// Checkpoints in the safetensors format, so weights move to and from the Python world.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {"key": "value"}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8, then the raw little-endian tensor data, tensors packed
// back to back. affine reads and writes F32, F64 and I64.
//
// Two levels:
//  - tensor level: save_safetensors / load_safetensors / parse_safetensors work on any ordered
//    list of named tensors;
//  - module level: save / load store a Module's state_dict() (parameters and buffers) and,
//    optionally, an optimizer's state() under the reserved prefix "optim." (kOptimizerPrefix) and
//    a learning-rate scheduler's state() under "sched." (kSchedulerPrefix), so one file resumes
//    training mid-schedule:
//
//      nn::save(net, "ckpt.safetensors", opt, sched);   // weights, optimizer, scheduler
//      nn::load(net, "ckpt.safetensors", opt, sched);   // all three, or none on any error
//
// Loading never trusts the file: every length, offset, dtype and shape is checked against the
// file before any tensor memory is allocated, and every error is an affine::Error naming the
// operation, the file and the problem. Saving writes a temporary file next to the target and
// renames it over the target, so a crash never leaves a half-written checkpoint.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::nn {

/// The free-form string map stored under "__metadata__".
using Metadata = std::map<std::string, std::string>;

/// What a safetensors file holds.
struct AFFINE_API SafetensorsFile {
  /// The tensors in the order of their data in the file (the order they were saved in).
  NamedTensors tensors;
  Metadata metadata;
};

/// Largest JSON header accepted (the limit of the reference implementation): a hostile length
/// field cannot make the loader allocate more than this before validation.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

/// Writes tensors (any layout, any of f32/f64/i64) to path in the given order. Names must be
/// unique, valid UTF-8 and not "__metadata__". Throws affine::Error naming path on any failure,
/// in which case no file (not even a temporary one) is left behind and an existing file at path
/// is untouched.
AFFINE_API void save_safetensors(const std::string& path, const NamedTensors& tensors,
                                 const Metadata& metadata = {});

/// Reads a safetensors file. Validates the whole header against the file size before allocating
/// tensor data; throws affine::Error naming path and the problem for anything malformed.
AFFINE_API SafetensorsFile load_safetensors(const std::string& path);

/// As load_safetensors, from the bytes of a file held in memory (`name` is used in messages).
AFFINE_API SafetensorsFile parse_safetensors(std::string_view bytes,
                                             const std::string& name = "<memory>");

// ---- module level ------------------------------------------------------------------------------

/// Entries whose name starts with this prefix hold optimizer state; parameter names may not use it.
inline constexpr std::string_view kOptimizerPrefix = "optim.";
/// Entries whose name starts with this prefix hold scheduler state; parameter names may not use it.
inline constexpr std::string_view kSchedulerPrefix = "sched.";

/// The training state a checkpoint keeps beside the model: an optimizer's and a learning-rate
/// scheduler's state() lists (either may be empty).
struct AFFINE_API TrainingState {
  NamedTensors optimizer;  ///< stored under "optim."
  NamedTensors scheduler;  ///< stored under "sched."
};

/// Receives the training state read from a file (names without their prefixes).
using TrainingStateLoader = std::function<void(const TrainingState&)>;

/// Receives an optimizer's saved state (names without the "optim." prefix), e.g. a lambda that
/// calls opt.load_state(state).
using OptimizerStateLoader = std::function<void(const NamedTensors&)>;

/// Saves model's state_dict() (parameters and buffers under their dotted names) and, if given,
/// optimizer_state (as returned by an optimizer's state()) under "optim." + name.
AFFINE_API void save(Module& model, const std::string& path,
                     const NamedTensors& optimizer_state = {}, const Metadata& metadata = {});

/// Saves model's state_dict() and the training state under "optim." and "sched.".
AFFINE_API void save(Module& model, const std::string& path, const TrainingState& training,
                     const Metadata& metadata = {});

/// Loads path into model's parameters and buffers (copied in place, so existing references stay
/// valid; float32 and float64 entries convert to the model's dtype, as in load_state_dict). The
/// whole file is checked first; every entry missing from the file, every unexpected entry and
/// every mismatched shape or dtype is reported in one affine::Error, and on any error the model
/// is left unchanged. "optim." entries are ignored unless load_optimizer_state is
/// given: it is then called with them (possibly none) after all checks pass and before the model
/// changes, so if it throws the model is still unchanged.
AFFINE_API void load(Module& model, const std::string& path,
                     const OptimizerStateLoader& load_optimizer_state = {});

/// As load, for a file with training state: load_training is called with the "optim." and
/// "sched." entries (either possibly empty) after every check on the model passed and before the
/// model changes; if it throws, the model is unchanged.
AFFINE_API void load(Module& model, const std::string& path,
                     const TrainingStateLoader& load_training);

/// An optimizer whose state can be saved: `NamedTensors state() const` and
/// `void load_state(const NamedTensors&)` (optim::SGD, optim::Adam).
template <class O>
concept StatefulOptimizer = requires(O& opt, const O& copt, const NamedTensors& s) {
  { copt.state() } -> std::convertible_to<NamedTensors>;
  opt.load_state(s);
};

/// A scheduler whose state can be saved, with the same protocol (optim::LRScheduler and its
/// subclasses, optim::ReduceLROnPlateau). Its load_state must check everything before changing
/// anything, and loading a list its own state() returned must not fail.
template <class S>
concept StatefulScheduler = StatefulOptimizer<S>;

/// save(model, path, optimizer.state(), metadata).
template <StatefulOptimizer O>
void save(Module& model, const std::string& path, const O& optimizer,
          const Metadata& metadata = {}) {
  save(model, path, NamedTensors(optimizer.state()), metadata);
}

/// Loads model and optimizer together; on any error neither is changed (provided the optimizer's
/// load_state itself validates before changing anything).
template <StatefulOptimizer O>
void load(Module& model, const std::string& path, O& optimizer) {
  load(model, path, [&optimizer](const NamedTensors& state) { optimizer.load_state(state); });
}

/// save(model, path, {optimizer.state(), scheduler.state()}, metadata).
template <StatefulOptimizer O, StatefulScheduler S>
void save(Module& model, const std::string& path, const O& optimizer, const S& scheduler,
          const Metadata& metadata = {}) {
  save(model, path, TrainingState{NamedTensors(optimizer.state()), NamedTensors(scheduler.state())},
       metadata);
}

/// Loads model, optimizer and scheduler together; on any error none of them is changed. The
/// scheduler's state is loaded first (it sets the optimizer's lr and momentum); if the optimizer
/// then refuses its state, the scheduler's previous state is put back.
template <StatefulOptimizer O, StatefulScheduler S>
void load(Module& model, const std::string& path, O& optimizer, S& scheduler) {
  load(model, path, TrainingStateLoader([&optimizer, &scheduler](const TrainingState& state) {
         const NamedTensors before(scheduler.state());
         scheduler.load_state(state.scheduler);
         try {
           optimizer.load_state(state.optimizer);
         } catch (...) {
           scheduler.load_state(before);
           throw;
         }
       }));
}

}  // namespace affine::nn
