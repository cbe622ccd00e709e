// Internal: the caching allocator behind detail::Storage (see affine/tensor/memory.hpp for the
// user's view) and the pool that holds storage's shared_ptr control blocks.
//
// Buffers: size classes (below), one free list per class, a cap on cached bytes, one mutex with
// short critical sections (the system allocator and ASan poisoning of large regions run outside
// it when they can). The free-list link of a cached buffer lives in its own first 8 bytes, so
// caching costs no bookkeeping allocation. A buffer's class is recomputed from Storage::bytes when
// it is freed: Storage::bytes must never change after construction.
//
// Control blocks: make_storage() builds the Storage with std::allocate_shared and PoolAllocator,
// whose single-object allocations are 64-byte slots carved from 64 KiB slabs (one cache line per
// block, so reference counts of different tensors never share a line). Freed slots go to a free
// list and are never returned to the system while any slot is live.
//
// At exit a static destructor empties the cache and switches both to pass-through (buffers freed
// later by static tensors go straight back to the system), so LeakSanitizer and valgrind stay
// clean.
#pragma once

#include <cstddef>
#include <memory>

#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail {

inline constexpr size_t kStorageAlignment = 64;  // one cache line; also the widest SIMD load

// ---- size classes --------------------------------------------------------------------------
// Up to 1 KiB: multiples of 64 (classes 0..15). Above: (2^p, 2^(p+1)] is split into 8 classes of
// 2^(p-3) bytes each, so a request wastes at most 12.5%. Every class size is a multiple of 64.
inline constexpr size_t kSmallClassLimit = 1024;
inline constexpr int kSmallClasses = static_cast<int>(kSmallClassLimit / kStorageAlignment);
inline constexpr size_t kMaxStorageBytes = size_t{1} << 62;  // larger requests are refused
inline constexpr int kNumSizeClasses = kSmallClasses + (62 - 10) * 8;

constexpr int size_class(size_t bytes) {
  if (bytes <= kSmallClassLimit) {
    return bytes == 0 ? 0 : static_cast<int>((bytes - 1) / kStorageAlignment);
  }
  const int p = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1));  // 2^p < bytes
  const size_t step = size_t{1} << (p - 3);
  const size_t k = (bytes - (size_t{1} << p) + step - 1) / step;  // 1..8
  return kSmallClasses + (p - 10) * 8 + static_cast<int>(k) - 1;
}

constexpr size_t size_class_bytes(int cls) {
  if (cls < kSmallClasses) return static_cast<size_t>(cls + 1) * kStorageAlignment;
  const int p = 10 + (cls - kSmallClasses) / 8;
  const size_t k = static_cast<size_t>((cls - kSmallClasses) % 8) + 1;
  return (size_t{1} << p) + k * (size_t{1} << (p - 3));
}

static_assert(size_class(0) == 0 && size_class(64) == 0 && size_class(65) == 1);
static_assert(size_class_bytes(size_class(1024)) == 1024 &&
              size_class_bytes(size_class(1025)) == 1152);
static_assert(size_class_bytes(size_class(2048)) == 2048 &&
              size_class_bytes(size_class(2049)) == 2304);
static_assert(size_class(kMaxStorageBytes) == kNumSizeClasses - 1);
static_assert(size_class_bytes(kNumSizeClasses - 1) == kMaxStorageBytes);

// ---- buffers -------------------------------------------------------------------------------
/// A 64-byte aligned buffer of at least `bytes` bytes (64 when bytes == 0): from the cache when
/// its class has one, else from the system. Throws affine::Error when memory runs out.
void* storage_acquire(size_t bytes);
/// Gives back a buffer from storage_acquire(bytes), with the same bytes. Null is ignored.
void storage_release(void* data, size_t bytes) noexcept;

// ---- control blocks ------------------------------------------------------------------------
inline constexpr size_t kSlotBytes = 64;
void* slot_allocate();  // kSlotBytes bytes, 64-byte aligned; throws std::bad_alloc
void slot_deallocate(void* p) noexcept;

/// Allocates single objects of up to 64 bytes from the slot pool; anything else from
/// std::allocator.
template <class T>
struct PoolAllocator {
  using value_type = T;
  static constexpr bool kPooled = sizeof(T) <= kSlotBytes && alignof(T) <= kStorageAlignment;

  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

  T* allocate(size_t n) {
    if constexpr (kPooled) {
      if (n == 1) return static_cast<T*>(slot_allocate());
    }
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    if constexpr (kPooled) {
      if (n == 1) return slot_deallocate(p);
    }
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  friend bool operator==(const PoolAllocator&, const PoolAllocator<U>&) noexcept {
    return true;
  }
};

/// The one way affine creates storage: buffer from the cache, control block from the pool.
inline std::shared_ptr<Storage> make_storage(size_t bytes) {
  return std::allocate_shared<Storage>(PoolAllocator<Storage>{}, bytes);
}

/// Storage over borrowed memory (Tensor::from_blob), its control block from the same pool.
inline std::shared_ptr<Storage> make_borrowed_storage(void* data, size_t bytes,
                                                      std::shared_ptr<void> owner) {
  return std::allocate_shared<Storage>(PoolAllocator<Storage>{}, data, bytes, std::move(owner));
}

}  // namespace affine::detail
