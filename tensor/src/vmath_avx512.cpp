// AVX-512F vmath (vmath.hpp), compiled with the AVX-512 flags; reached only after CPUID says so.
// 16 floats per vector; compares give k-masks, selects are blends under them, and the tail is
// one masked load/store (masked-off lanes are never accessed, so no fault past the end).
#include <immintrin.h>

#include <cstdint>

#include "vmath.hpp"
#include "vmath_impl.hpp"
#include "vmath_policy_avx512.hpp"

namespace affine::detail::vmath {

const Table& table_avx512() {
  static const Table t = impl::make_table<Avx512>();
  return t;
}

}  // namespace affine::detail::vmath
