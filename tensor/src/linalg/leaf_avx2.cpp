// The linalg leaf loops (leaf.hpp) for the avx2 ISA, compiled with its flags; reached only after
// CPUID says so.
#include "linalg/leaf_impl.hpp"

namespace affine::detail::linalg {

const LeafTable& leaf_table_avx2() {
  static const LeafTable table{make_leaf_kernels<true, float>(), make_leaf_kernels<true, double>()};
  return table;
}

}  // namespace affine::detail::linalg
