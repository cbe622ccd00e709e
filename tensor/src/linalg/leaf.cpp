// Picks the linalg leaf loops (leaf.hpp) for the active ISA, once.
#include "linalg/leaf.hpp"

#include "affine/tensor/parallel.hpp"
#include "isa_table.hpp"

namespace affine::detail::linalg {

namespace {

const LeafTable& active_table() {
  static const LeafTable& t = AFFINE_ACTIVE_ISA_TABLE(leaf_table_);
  return t;
}

}  // namespace

template <>
const LeafKernels<float>& leaf_kernels<float>() {
  return active_table().f32;
}
template <>
const LeafKernels<double>& leaf_kernels<double>() {
  return active_table().f64;
}

}  // namespace affine::detail::linalg
