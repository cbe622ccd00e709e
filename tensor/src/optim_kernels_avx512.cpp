// The optimizer update loops (optim_kernels_impl.hpp) compiled for AVX512; reached only after
// CPUID says so.
#include "optim_kernels.hpp"
#include "optim_kernels_impl.hpp"

namespace affine::detail::optim_kernels {

const Table& table_avx512() {
  static constexpr Table t = make_table();
  return t;
}

}  // namespace affine::detail::optim_kernels
