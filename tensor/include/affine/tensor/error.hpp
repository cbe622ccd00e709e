// The one exception type of affine. Every message names the operation and prints the shapes or
// values involved, e.g. "add: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)".
#pragma once

#include <stdexcept>
#include <string>

#include "affine/tensor/export.hpp"

namespace affine {

/// Thrown for every error a user can cause: bad shapes, dtypes, indices, files, arguments.
class AFFINE_API Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace affine
