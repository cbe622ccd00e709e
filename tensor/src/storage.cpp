// Storage and its caching allocator (design notes in allocator.hpp, user documentation in
// affine/tensor/memory.hpp).
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>

#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/memory.hpp"
#include "affine/tensor/tensor.hpp"
#include "allocator.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define AFFINE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AFFINE_ASAN 1
#endif
#endif

#ifdef AFFINE_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace affine::detail {

namespace {

// Under ASan, memory the cache or the pool holds is poisoned; elsewhere these are no-ops.
inline void poison(void* p, size_t n) {
#ifdef AFFINE_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}
inline void unpoison(void* p, size_t n) {
#ifdef AFFINE_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

// The free-list link stored in the first bytes of a cached buffer or a free slot.
inline void* read_link(void* p) {
  unpoison(p, sizeof(void*));
  void* next = *static_cast<void**>(p);
  return next;
}
inline void write_link(void* p, void* next) {
  unpoison(p, sizeof(void*));
  *static_cast<void**>(p) = next;
}

// Objects that live for the whole process and are never destroyed: constant-initialised (so they
// exist before any dynamic initialiser can allocate a tensor) and never torn down (so a tensor
// destroyed by a late static destructor still finds them).
template <class T>
union Immortal {
  constexpr Immortal() : value() {}
  ~Immortal() {}
  T value;
};

constexpr size_t kDefaultCacheLimit = size_t{1} << 30;  // 1 GiB

// ---- buffer cache ------------------------------------------------------------------------------

struct Cache {
  std::mutex mutex;
  void* bins[kNumSizeClasses] = {};  // free-list heads, one per size class
  size_t limit = kDefaultCacheLimit;
  bool limit_known = false;  // env AFFINE_CACHE_LIMIT read, or set_storage_cache_limit called
  bool shut_down = false;    // after exit: pass-through to the system allocator
  MemoryStats stats{};
};

constinit Immortal<Cache> g_cache;

// AFFINE_CACHE_LIMIT: bytes, optionally followed by K, M or G (binary units). Invalid: ignored.
bool parse_limit(const char* s, size_t* out) {
  if (s == nullptr || *s < '0' || *s > '9') return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  int shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10, ++end;
  else if (*end == 'M' || *end == 'm')
    shift = 20, ++end;
  else if (*end == 'G' || *end == 'g')
    shift = 30, ++end;
  if (*end != '\0' || v > (SIZE_MAX >> shift)) return false;
  *out = static_cast<size_t>(v) << shift;
  return true;
}

// Requires the lock.
void read_limit_once(Cache& c) {
  if (c.limit_known) return;
  c.limit_known = true;
  size_t v = 0;
  if (parse_limit(std::getenv("AFFINE_CACHE_LIMIT"), &v)) c.limit = v;
}

void note_usage(MemoryStats& s) {  // requires the lock
  s.peak_bytes_in_use = std::max(s.peak_bytes_in_use, s.bytes_in_use);
  s.peak_bytes_reserved = std::max(s.peak_bytes_reserved, s.bytes_in_use + s.bytes_cached);
}

// Unlinks cached buffers, largest classes first, until at most `target` bytes stay cached.
// Returns them chained through their links, to be freed outside the lock. Requires the lock.
void* detach_cached(Cache& c, size_t target) {
  void* chain = nullptr;
  for (int cls = kNumSizeClasses - 1; cls >= 0 && c.stats.bytes_cached > target; --cls) {
    const size_t cap = size_class_bytes(cls);
    while (c.bins[cls] != nullptr && c.stats.bytes_cached > target) {
      void* p = c.bins[cls];
      c.bins[cls] = read_link(p);
      write_link(p, chain);
      chain = p;
      c.stats.bytes_cached -= cap;
      ++c.stats.system_frees;
    }
  }
  return chain;
}

void free_chain(void* chain) {
  while (chain != nullptr) {
    void* next = read_link(chain);
    std::free(chain);
    chain = next;
  }
}

void trim_to(size_t target) {
  Cache& c = g_cache.value;
  void* chain = nullptr;
  {
    std::lock_guard lock(c.mutex);
    chain = detach_cached(c, target);
  }
  free_chain(chain);
}

// ---- control-block slots -----------------------------------------------------------------------

constexpr size_t kSlabBytes = size_t{64} << 10;  // first slot: link to the next slab

struct SlotPool {
  std::mutex mutex;
  void* free = nullptr;   // free slots, linked through their first bytes
  void* slabs = nullptr;  // every slab, linked through its first slot
  size_t live = 0;        // slots handed out and not yet returned
  bool shut_down = false;
};

constinit Immortal<SlotPool> g_slots;

// Frees every slab; only when no slot is live. Requires the lock.
void release_slabs(SlotPool& s) {
  void* slab = s.slabs;
  while (slab != nullptr) {
    void* next = read_link(slab);
    std::free(slab);
    slab = next;
  }
  s.slabs = nullptr;
  s.free = nullptr;
}

// At exit: empty the cache and stop caching, so cached buffers are really freed (LeakSanitizer,
// valgrind) and buffers of tensors that outlive this object go straight back to the system.
struct ExitCleanup {
  ExitCleanup() = default;
  ExitCleanup(const ExitCleanup&) = delete;
  ExitCleanup& operator=(const ExitCleanup&) = delete;
  ~ExitCleanup() {
    Cache& c = g_cache.value;
    void* chain = nullptr;
    {
      std::lock_guard lock(c.mutex);
      c.shut_down = true;
      chain = detach_cached(c, 0);
    }
    free_chain(chain);
    SlotPool& s = g_slots.value;
    std::lock_guard lock(s.mutex);
    s.shut_down = true;
    if (s.live == 0) release_slabs(s);
  }
};
ExitCleanup g_exit_cleanup;

}  // namespace

void* storage_acquire(size_t bytes) {
  if (bytes > kMaxStorageBytes) {
    throw Error("Storage: cannot allocate " + std::to_string(bytes) + " bytes");
  }
  const int cls = size_class(bytes);
  const size_t cap = size_class_bytes(cls);
  // The caller may use the request rounded up to a cache line (the contract aligned_alloc gave).
  const size_t usable = std::max<size_t>((bytes + kStorageAlignment - 1) & ~(kStorageAlignment - 1),
                                         kStorageAlignment);
  Cache& c = g_cache.value;
  {
    std::lock_guard lock(c.mutex);
    read_limit_once(c);
    if (void* p = c.bins[cls]; p != nullptr) {
      c.bins[cls] = read_link(p);
      c.stats.bytes_cached -= cap;
      c.stats.bytes_in_use += cap;
      ++c.stats.allocations;
      ++c.stats.cache_hits;
      note_usage(c.stats);
      unpoison(p, usable);  // [usable, cap) stays poisoned from the cache
      return p;
    }
  }
  void* p = std::aligned_alloc(kStorageAlignment, cap);
  if (p == nullptr) {  // memory held by the cache may be all that is missing
    trim_to(0);
    p = std::aligned_alloc(kStorageAlignment, cap);
    if (p == nullptr) {
      throw Error("Storage: out of memory allocating " + std::to_string(bytes) + " bytes");
    }
  }
  poison(static_cast<char*>(p) + usable, cap - usable);
  std::lock_guard lock(c.mutex);
  c.stats.bytes_in_use += cap;
  ++c.stats.allocations;
  ++c.stats.system_allocations;
  note_usage(c.stats);
  return p;
}

void storage_release(void* data, size_t bytes) noexcept {
  if (data == nullptr) return;
  const int cls = size_class(bytes);
  const size_t cap = size_class_bytes(cls);
  Cache& c = g_cache.value;
  {
    std::lock_guard lock(c.mutex);
    c.stats.bytes_in_use -= cap;
    if (!c.shut_down && c.stats.bytes_cached + cap <= c.limit) {
      poison(data, cap);
      write_link(data, c.bins[cls]);
      poison(data, sizeof(void*));
      c.bins[cls] = data;
      c.stats.bytes_cached += cap;
      note_usage(c.stats);
      return;
    }
    ++c.stats.system_frees;
  }
  std::free(data);
}

void* slot_allocate() {
  SlotPool& s = g_slots.value;
  std::lock_guard lock(s.mutex);
  if (s.free == nullptr) {
    void* slab = std::aligned_alloc(kStorageAlignment, kSlabBytes);
    if (slab == nullptr) throw std::bad_alloc();
    poison(slab, kSlabBytes);
    write_link(slab, s.slabs);
    s.slabs = slab;
    // Thread the remaining slots onto the free list, last first, so they are handed out in order.
    for (size_t off = kSlabBytes - kSlotBytes; off >= kSlotBytes; off -= kSlotBytes) {
      void* slot = static_cast<char*>(slab) + off;
      write_link(slot, s.free);
      poison(slot, sizeof(void*));
      s.free = slot;
    }
  }
  void* p = s.free;
  s.free = read_link(p);
  ++s.live;
  unpoison(p, kSlotBytes);
  return p;
}

void slot_deallocate(void* p) noexcept {
  SlotPool& s = g_slots.value;
  std::lock_guard lock(s.mutex);
  poison(p, kSlotBytes);
  write_link(p, s.free);
  poison(p, sizeof(void*));
  s.free = p;
  if (--s.live == 0 && s.shut_down) release_slabs(s);
}

Storage::Storage(size_t n) : data(storage_acquire(n)), bytes(n) {}

// Storage's control block (two counts, a vtable pointer and the Storage) must fit a pool slot,
// or every tensor's control block would come from operator new.
static_assert(sizeof(Storage) + 24 <= kSlotBytes, "Storage outgrew the control-block pool slot");

Storage::Storage(void* borrowed, size_t n, std::shared_ptr<void> keep)
    : data(borrowed), bytes(n), owner(std::move(keep)) {}

Storage::~Storage() {
  if (!owner) storage_release(data, bytes);
}

}  // namespace affine::detail

namespace affine {

MemoryStats memory_stats() {
  detail::Cache& c = detail::g_cache.value;
  std::lock_guard lock(c.mutex);
  detail::read_limit_once(c);
  MemoryStats s = c.stats;
  s.cache_limit = c.limit;
  return s;
}

void reset_peak_memory_stats() {
  detail::Cache& c = detail::g_cache.value;
  std::lock_guard lock(c.mutex);
  c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
  c.stats.peak_bytes_reserved = c.stats.bytes_in_use + c.stats.bytes_cached;
}

void set_storage_cache_limit(size_t bytes) {
  detail::Cache& c = detail::g_cache.value;
  {
    std::lock_guard lock(c.mutex);
    c.limit = bytes;
    c.limit_known = true;
  }
  detail::trim_to(bytes);
}

size_t storage_cache_limit() {
  detail::Cache& c = detail::g_cache.value;
  std::lock_guard lock(c.mutex);
  detail::read_limit_once(c);
  return c.limit;
}

void empty_storage_cache() { detail::trim_to(0); }

}  // namespace affine
