// AVX2 + FMA vmath (vmath.hpp), compiled with -mavx2 -mfma; reached only after CPUID says so.
// 8 floats per vector; the tail goes through maskload/maskstore, which never touch the lanes
// that are off (no read past the end of the input, even across a page boundary).
#include <immintrin.h>

#include <cstdint>

#include "vmath.hpp"
#include "vmath_impl.hpp"
#include "vmath_policy_avx2.hpp"

namespace affine::detail::vmath {

const Table& table_avx2() {
  static const Table t = impl::make_table<Avx2>();
  return t;
}

}  // namespace affine::detail::vmath
