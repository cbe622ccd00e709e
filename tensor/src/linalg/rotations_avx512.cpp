// The rotation applier (rotations_impl.hpp) compiled with the avx512 flags; reached only after
// CPUID says the CPU has them (rotations_generic.cpp dispatches).
#include "linalg/rotations_impl.hpp"

namespace affine::detail::linalg {

void apply_rotations_avx512(const RotationBatch<float>& b, float* p, int64_t strips, int64_t cols) {
  impl::apply<float>(b, p, strips, cols);
}
void apply_rotations_avx512(const RotationBatch<double>& b, double* p, int64_t strips,
                            int64_t cols) {
  impl::apply<double>(b, p, strips, cols);
}

}  // namespace affine::detail::linalg
