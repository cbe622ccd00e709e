// NumPy broadcasting of two shapes.
//
// Error messages name the conflicting dimension by its index in the *broadcast result* (shapes
// aligned at the right), because that index is the same whichever operand is shorter: for
// [5, 3, 4] and [2, 4] the message says "dimension 1: 3 vs 2". When several dimensions conflict,
// the leftmost is reported.
#include <string>

#include "affine/tensor/ops.hpp"

namespace affine {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int ra = a.size();
  const int rb = b.size();
  const int r = ra > rb ? ra : rb;
  Shape out = Dims::filled(r, 1);
  for (int d = 0; d < r; ++d) {
    // Missing leading dims behave as size 1.
    const int64_t da = d - (r - ra) >= 0 ? a[d - (r - ra)] : 1;
    const int64_t db = d - (r - rb) >= 0 ? b[d - (r - rb)] : 1;
    if (da == db || db == 1) {
      out[d] = da;
    } else if (da == 1) {
      out[d] = db;
    } else {
      // A 0 broadcasts only against 1 (NumPy), so [0] vs [2] lands here too.
      throw Error(std::string(op) + ": shapes " + to_string(a) + " and " + to_string(b) +
                  " cannot be broadcast (dimension " + std::to_string(d) + ": " +
                  std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
  }
  return out;
}

}  // namespace affine
