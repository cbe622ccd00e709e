// Internal: picks a kernel family's table for the active ISA.
//
// A family (the GEMM kernels, vmath, the linalg leaves, the optimizer updates) compiles its
// kernels once per ISA, in *_generic.cpp, *_avx2.cpp and *_avx512.cpp, each file exporting one
// getter of its table (e.g. table_generic(), table_avx2(), table_avx512()). The family's
// dispatcher keeps the chosen table in a function-local static, so this runs once per family:
//
//   const Table& active() {
//     static const Table& t = AFFINE_ACTIVE_ISA_TABLE(table_);
//     return t;
//   }
#pragma once

#include "affine/tensor/parallel.hpp"

namespace affine::detail {

#if defined(__x86_64__) || defined(_M_X64)

/// The table of the ISA active_isa() names (AFFINE_ISA or the best the CPU runs).
template <class Table>
const Table& table_for_active_isa(const Table& (*generic)(), const Table& (*avx2)(),
                                  const Table& (*avx512)()) {
  switch (active_isa()) {
    case Isa::avx512:
      return avx512();
    case Isa::avx2:
      return avx2();
    case Isa::generic:
      break;
  }
  return generic();
}

/// The table of the active ISA among getter##generic, getter##avx2 and getter##avx512.
#define AFFINE_ACTIVE_ISA_TABLE(getter) \
  ::affine::detail::table_for_active_isa(getter##generic, getter##avx2, getter##avx512)

#else

/// Off x86 only the generic kernels exist.
#define AFFINE_ACTIVE_ISA_TABLE(getter) getter##generic()

#endif

}  // namespace affine::detail
