// Internal: when a GEMM-family job (packed, small path, linear, linalg's rotations) is worth
// splitting across threads. Declarations only, so per-ISA translation units can include it
// without compiling any shared inline code under their ISA flags.
#pragma once

#include <cstdint>

namespace affine::detail::gemm {

/// The active float or double micro-kernel's multiply-adds per second on one core, with its
/// panels in L1: the best of a few timed batches, measured on first use (~0.2 ms) and kept for
/// the process (parallel_threshold.cpp).
template <class T>
double multiply_add_rate();

/// Whether a job of `work` multiply-adds that forks and joins the thread pool `syncs` times is
/// worth more than one thread. Measurements of this machine decide it, not constants: the pool's
/// round trip w (parallel_pool_costs: hot while its helpers are awake, cold while they sleep),
/// how fast a helper reads what the caller wrote, and the kernel's rate r. On t threads the job
/// saves (1 - 1/t) of work / r and pays syncs * w plus moving the helpers' operands: their share
/// of `split_elems` elements (rows of A and C) and all of `shared_elems` (B). It must save at
/// least twice what it pays, so threads are woken only where they clearly win (a break-even split
/// would just take a core from a neighbour). A job worth it only at the hot round trip wakes
/// sleeping helpers when it follows another such job closely (a stream, as in a training loop),
/// not when it comes alone. The first call starts the pool.
template <class T>
bool worth_threads(int64_t work, int64_t syncs, int64_t split_elems = 0, int64_t shared_elems = 0);

/// The rule's threshold: the fewest multiply-adds worth `threads` threads when the split pays
/// `paid` seconds (round trips plus moved operands).
template <class T>
int64_t parallel_min_work_at(double paid, int threads);

}  // namespace affine::detail::gemm
