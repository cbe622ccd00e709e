// The rotation applier (rotations_impl.hpp) compiled with the avx2 flags; reached only after
// CPUID says the CPU has them (rotations_generic.cpp dispatches).
#include "linalg/rotations_impl.hpp"

namespace affine::detail::linalg {

void apply_rotations_avx2(const RotationBatch<float>& b, float* z, int64_t rows, int64_t cols,
                          int64_t ld) {
  impl::apply<float, 64>(b, z, rows, cols, ld);
}
void apply_rotations_avx2(const RotationBatch<double>& b, double* z, int64_t rows, int64_t cols,
                          int64_t ld) {
  impl::apply<double, 32>(b, z, rows, cols, ld);
}

}  // namespace affine::detail::linalg
