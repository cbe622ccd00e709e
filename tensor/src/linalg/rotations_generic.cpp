// The rotation applier (rotations_impl.hpp) at the baseline ISA, and the dispatcher (this file is
// compiled for every target).
#include "affine/tensor/parallel.hpp"
#include "linalg/rotations_impl.hpp"

namespace affine::detail::linalg {

#if defined(__x86_64__) || defined(_M_X64)
void apply_rotations_avx2(const RotationBatch<float>& b, float* p, int64_t strips, int64_t cols);
void apply_rotations_avx2(const RotationBatch<double>& b, double* p, int64_t strips, int64_t cols);
void apply_rotations_avx512(const RotationBatch<float>& b, float* p, int64_t strips, int64_t cols);
void apply_rotations_avx512(const RotationBatch<double>& b, double* p, int64_t strips,
                            int64_t cols);
#endif

template <class T>
void apply_rotations(const RotationBatch<T>& batch, T* packed, int64_t strips, int64_t cols) {
#if defined(__x86_64__) || defined(_M_X64)
  switch (active_isa()) {
    case Isa::avx512:
      return apply_rotations_avx512(batch, packed, strips, cols);
    case Isa::avx2:
      return apply_rotations_avx2(batch, packed, strips, cols);
    case Isa::generic:
      break;
  }
#endif
  impl::apply<T>(batch, packed, strips, cols);
}

template void apply_rotations(const RotationBatch<float>&, float*, int64_t, int64_t);
template void apply_rotations(const RotationBatch<double>&, double*, int64_t, int64_t);

}  // namespace affine::detail::linalg
