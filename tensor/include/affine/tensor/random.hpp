// Seeded, reproducible random numbers: the same seed gives the same numbers on every machine and
// compiler, because nothing here depends on the standard library's distributions.
//
// Algorithm (documented, stable across versions): the 64-bit seed is expanded by SplitMix64 into
// the 256-bit state of xoshiro256** (Blackman & Vigna). uniform() takes the top 53 bits of a draw
// as a double in [0, 1). normal() uses the Marsaglia polar method with affine's own portable log
// (plain IEEE arithmetic compiled without FMA contraction), caching the second value of each pair.
#pragma once

#include <array>
#include <cstdint>

#include "affine/tensor/export.hpp"

namespace affine {

/// An explicit, seeded random number generator. Copying it copies its state.
class AFFINE_API Generator {
 public:
  explicit Generator(uint64_t seed = 0);
  /// The next raw 64-bit draw of xoshiro256**.
  uint64_t next_u64();
  /// Uniform on [0, 1) with 53 random bits.
  double uniform();
  /// Uniform on [low, high).
  double uniform(double low, double high);
  /// Standard normal (Marsaglia polar method).
  double normal();
  /// Normal with the given mean and standard deviation.
  double normal(double mean, double stddev);
  /// Uniform integer in [0, n) without modulo bias (n >= 1).
  uint64_t below(uint64_t n);

 private:
  std::array<uint64_t, 4> s_{};
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// ---- the default generator (a documented process-wide setting) -------------------------------
// Everything that draws random numbers without being given a Generator (layers built without one,
// such as nn::Linear(in, out)) draws from this one generator, so two such layers differ from each
// other, and a run is reproducible from its seed: at start-up the default generator is
// Generator(kDefaultSeed); manual_seed(n) resets it to Generator(n), as torch.manual_seed.
// Not thread-safe: build models from one thread, or give each thread its own Generator.

/// The default generator's seed at program start.
inline constexpr uint64_t kDefaultSeed = 0;

/// The process-wide default generator.
AFFINE_API Generator& default_generator();

/// Resets the default generator to Generator(seed).
AFFINE_API void manual_seed(uint64_t seed);

}  // namespace affine
