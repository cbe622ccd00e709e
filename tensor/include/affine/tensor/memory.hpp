// Tensor memory: the caching allocator behind every tensor's storage, its counters and its limit.
//
// A tensor buffer that is freed does not go back to the system: it is kept in a cache, in a free
// list for its size class, and the next tensor of that class reuses it. A training loop that
// allocates the same sizes every step therefore calls the system allocator only during its first
// step; later steps neither allocate nor page-fault (fresh multi-megabyte buffers come from mmap,
// and every page of them faults on first touch). The reference-count block of each storage comes
// from a pool as well, so creating a Tensor in steady state calls neither operator new nor malloc.
//
// Size classes: requests are rounded up to a multiple of 64 bytes up to 1 KiB, and above that to
// one of 8 classes per power of two (at most 12.5% over the request). A buffer is reused only for
// a request of its own class. Tensor::nbytes() is unchanged; the statistics count class sizes.
//
// Everything here is thread-safe, and a buffer may be freed on another thread than the one that
// allocated it. Cached buffers are returned to the system by empty_storage_cache(), when the limit
// is lowered, and at process exit.
//
// Under AddressSanitizer, cached buffers are poisoned (use after free of a tensor buffer is still
// reported, as use-after-poison) and so are the bytes between the 64-byte rounded request and the
// end of its class. A stale pointer into a buffer that has already been reused by another tensor
// cannot be caught; run with AFFINE_CACHE_LIMIT=0 to hand every buffer back to the system instead.
#pragma once

#include <cstddef>
#include <cstdint>

#include "affine/tensor/export.hpp"

namespace affine {

/// Counters of the tensor storage allocator, process-wide, since start. Bytes are class sizes.
struct AFFINE_API MemoryStats {
  uint64_t allocations = 0;  ///< storage buffers handed out (cache hits + system allocations)
  uint64_t cache_hits = 0;   ///< ... of which were served from the cache
  uint64_t system_allocations = 0;  ///< calls into the system allocator for a buffer
  uint64_t system_frees = 0;        ///< buffers handed back to the system allocator
  size_t bytes_in_use = 0;          ///< held by live storage (tensors and their views)
  size_t bytes_cached = 0;          ///< freed by tensors, kept for reuse
  size_t peak_bytes_in_use = 0;     ///< maximum of bytes_in_use (see reset_peak_memory_stats)
  size_t peak_bytes_reserved = 0;   ///< maximum of bytes_in_use + bytes_cached
  size_t cache_limit = 0;           ///< storage_cache_limit() when the stats were taken
};

/// A snapshot of the counters.
AFFINE_API MemoryStats memory_stats();

/// Sets both peaks to the current values, to measure the peak of one phase of a program.
AFFINE_API void reset_peak_memory_stats();

/// Caps the bytes kept in the cache; a freed buffer that would exceed it goes back to the system.
/// Lowering the limit releases cached buffers (largest classes first) down to it; 0 disables
/// caching. Initial value: env AFFINE_CACHE_LIMIT (bytes, optionally with a K, M or G suffix for
/// KiB, MiB, GiB; read at the first allocation; invalid values are ignored), else 1 GiB.
AFFINE_API void set_storage_cache_limit(size_t bytes);

/// The current cap on cached bytes.
AFFINE_API size_t storage_cache_limit();

/// Returns every cached buffer to the system (buffers of live tensors are untouched).
AFFINE_API void empty_storage_cache();

}  // namespace affine
