// The linalg leaf loops (leaf.hpp) for the generic ISA (portable; no fused multiply-add).
#include "linalg/leaf_impl.hpp"

namespace affine::detail::linalg {

const LeafTable& leaf_table_generic() {
  static const LeafTable table{make_leaf_kernels<false, float>(),
                               make_leaf_kernels<false, double>()};
  return table;
}

}  // namespace affine::detail::linalg
