// The rotation applier (rotations_impl.hpp) at the baseline ISA, and the dispatcher (this file is
// compiled for every target).
#include "affine/tensor/parallel.hpp"
#include "linalg/rotations_impl.hpp"

namespace affine::detail::linalg {

#if defined(__x86_64__) || defined(_M_X64)
void apply_rotations_avx2(const RotationBatch<float>& b, float* z, int64_t rows, int64_t cols,
                          int64_t ld);
void apply_rotations_avx2(const RotationBatch<double>& b, double* z, int64_t rows, int64_t cols,
                          int64_t ld);
void apply_rotations_avx512(const RotationBatch<float>& b, float* z, int64_t rows, int64_t cols,
                            int64_t ld);
void apply_rotations_avx512(const RotationBatch<double>& b, double* z, int64_t rows, int64_t cols,
                            int64_t ld);
#endif

template <class T>
void apply_rotations(const RotationBatch<T>& batch, T* z, int64_t rows, int64_t cols, int64_t ld) {
#if defined(__x86_64__) || defined(_M_X64)
  switch (active_isa()) {
    case Isa::avx512:
      return apply_rotations_avx512(batch, z, rows, cols, ld);
    case Isa::avx2:
      return apply_rotations_avx2(batch, z, rows, cols, ld);
    case Isa::generic:
      break;
  }
#endif
  impl::apply<T, 32>(batch, z, rows, cols, ld);
}

template void apply_rotations(const RotationBatch<float>&, float*, int64_t, int64_t, int64_t);
template void apply_rotations(const RotationBatch<double>&, double*, int64_t, int64_t, int64_t);

}  // namespace affine::detail::linalg
