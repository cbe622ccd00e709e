// Internal: working memory of the linalg kernels from the tensor storage cache (allocator.hpp).
//
// A factorization of an n x n matrix needs a few n x n buffers. From std::vector, each call maps
// fresh pages and the kernel zero-fills them on first touch: at n = 1024 that was 40% of eigh's
// time. From the storage cache, a call repeated on matrices of the same size (a training loop, a
// benchmark) gets back the buffers the last one released, already mapped; the cache's limit and
// empty_storage_cache() (memory.hpp) govern them like any tensor's memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "allocator.hpp"

namespace affine::detail::linalg {

/// An uninitialized, 64-byte aligned buffer of `size` elements of T, released when destroyed.
template <class T>
class Workspace {
 public:
  Workspace() = default;
  explicit Workspace(int64_t size) { resize(size); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { release(); }

  /// Makes room for `size` elements; the contents are not kept.
  void resize(int64_t size) {
    const size_t bytes = static_cast<size_t>(size) * sizeof(T);
    if (bytes <= bytes_ && data_ != nullptr) return;
    release();
    data_ = static_cast<T*>(storage_acquire(bytes));
    bytes_ = bytes;
  }
  T* data() const { return data_; }
  T& operator[](int64_t i) const { return data_[i]; }

 private:
  void release() noexcept {
    storage_release(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }
  T* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace affine::detail::linalg
