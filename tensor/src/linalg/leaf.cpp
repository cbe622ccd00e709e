// Picks the linalg leaf loops (leaf.hpp) for the active ISA, once.
#include "linalg/leaf.hpp"

#include "affine/tensor/parallel.hpp"

namespace affine::detail::linalg {

namespace {

const LeafTable& active_table() {
  static const LeafTable& t = []() -> const LeafTable& {
#if defined(__x86_64__) || defined(_M_X64)
    switch (active_isa()) {
      case Isa::avx512:
        return leaf_table_avx512();
      case Isa::avx2:
        return leaf_table_avx2();
      case Isa::generic:
        break;
    }
#endif
    return leaf_table_generic();
  }();
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
