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

/// Below this many multiply-adds, a job that forks and joins the thread pool `syncs` times runs
/// on one thread. Two measurements of this machine decide it, not a constant: the pool's
/// round trip w (parallel_round_trip_seconds) and the kernel's rate r. On t threads the job saves
/// (1 - 1/t) of work / r and pays syncs * w; it must save at least twice what it pays, so
/// threads are woken only where they clearly win (a break-even split would just take a core from
/// a neighbour). Call it only when more than one thread is allowed: the first call measures.
template <class T>
int64_t parallel_min_work(int64_t syncs);

}  // namespace affine::detail::gemm
