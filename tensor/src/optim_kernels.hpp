// Internal: the per-ISA tables behind affine/tensor/internal/optim_kernels.hpp. One loop
// (optim_kernels_impl.hpp) compiled three times: optim_kernels_generic.cpp (baseline SSE2, and the
// dispatcher), optim_kernels_avx2.cpp and optim_kernels_avx512.cpp. The float32 SGD update runs
// in float64 per element; at SSE2's two doubles per instruction it could not keep up with memory
// (MLP 784-1024-1024-10, 1.9 M parameters out of cache, on the Xeon: 3.3 ms generic, 1.2-1.5 ms
// AVX-512, against 1.2 ms for a float-only loop).
#pragma once

#include <cstdint>

#include "affine/tensor/internal/optim_kernels.hpp"

namespace affine::detail::optim_kernels {

struct Table {
  void (*sgd_f32)(float*, const float*, float*, int64_t, const SgdUpdate&) noexcept;
  void (*sgd_f64)(double*, const double*, double*, int64_t, const SgdUpdate&) noexcept;
};

const Table& table_generic();
const Table& table_avx2();
const Table& table_avx512();
/// The table of affine::active_isa(), chosen once.
const Table& active();

}  // namespace affine::detail::optim_kernels
