// Internal: what the CPU offers, for the kernels that adapt to it (GEMM blocking, ISA dispatch).
// The public side (active_isa, isa_name) is declared in affine/tensor/parallel.hpp.
#pragma once

#include <cstdint>

#include "affine/tensor/parallel.hpp"

namespace affine::detail {

/// Per-core data cache capacities in bytes, read once at first use (sysconf on Linux/glibc, with
/// fallbacks of 32 KiB / 1 MiB / 8 MiB when the OS does not say). l3 is the whole shared cache.
struct CacheSizes {
  int64_t l1d;
  int64_t l2;
  int64_t l3;
};
const CacheSizes& cache_sizes();

/// Whether this CPU and OS can run kernels compiled for `isa` (CPUID feature bits plus XGETBV
/// for the register state the OS saves). Always true for Isa::generic.
bool cpu_supports(Isa isa);

}  // namespace affine::detail
