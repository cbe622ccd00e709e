// The documented process-wide settings of affine: how many threads its kernels may use, which
// SIMD instruction set its kernels run with, and the cache blocking of its matrix multiply.
//
// AFFINE_GEMM_BLOCKING=mc,kc,nc (environment, read once per process when the first GEMM large
// enough for the packed path runs) replaces the blocking derived from this CPU's cache sizes:
// three integers in [1, 16384]; mc and nc are rounded up to multiples of the micro-kernel's
// register tile. kc sets the order in which products are summed, so it may change the last bits
// of results (still the same for any thread count). A malformed or out-of-range value makes
// every such GEMM throw affine::Error naming the variable and the value.
//
// AFFINE_POOL_SPIN_US=N (environment, read once when the worker pool starts): how long, in
// microseconds, a worker spins waiting for the next job before it sleeps, and the caller for its
// helpers before it sleeps. By default the pool measures what waking a sleeping worker costs on
// this machine and spins 10 times that (at most 5 ms), and stops spinning for a while whenever
// the OS preempts a worker (another program wants the core). 0 never spins. A value that is not
// an integer in [0, 1000000] makes every multi-threaded kernel call throw affine::Error naming it.
#pragma once

#include <string_view>

#include "affine/tensor/export.hpp"

namespace affine {

/// Caps the worker threads affine's kernels use (>= 1; values above the hardware count are
/// allowed). Initial value: env AFFINE_NUM_THREADS if set, else
/// std::thread::hardware_concurrency().
AFFINE_API void set_num_threads(int n);

/// The current cap on worker threads (>= 1).
AFFINE_API int num_threads();

/// Instruction sets affine has kernels for.
enum class Isa { generic, avx2, avx512 };

/// The ISA the kernels run with: the best the CPU supports, or env AFFINE_ISA=avx512|avx2|generic
/// (read once; asking for an ISA the CPU lacks falls back to the best it has, with a warning).
AFFINE_API Isa active_isa();

/// The best ISA this CPU and OS can run: what active_isa() is when AFFINE_ISA is not set.
AFFINE_API Isa best_isa();

/// "avx512", "avx2" or "generic".
AFFINE_API std::string_view isa_name(Isa isa);

}  // namespace affine
