// Internal: a tensor's storage buffer and the hooks affine's own code uses to reach it (building
// tensors over existing storage, raw bytes for file I/O, reference counts for in-place reuse).
// Not installed: users see Storage only as an opaque type in tensor.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "affine/tensor/tensor.hpp"

namespace affine {

namespace detail {
/// A 64-byte aligned heap buffer (from the cache), or memory borrowed from an owner
/// (Tensor::from_blob). Tensors hold it through std::shared_ptr.
struct Storage {
  explicit Storage(size_t bytes);
  /// Borrows bytes at data: never freed or cached; owner is released with the storage.
  Storage(void* data, size_t bytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t bytes = 0;
  /// Counts in-place modifications of the buffer (Tensor::version), shared by every view.
  std::atomic<uint64_t> version{0};
  /// Non-null for borrowed memory: what keeps data valid.
  std::shared_ptr<void> owner;
};
}  // namespace detail

/// Internal hooks for affine's own kernels (building tensors over existing storage).
struct TensorAccess {
  static Tensor make(std::shared_ptr<detail::Storage> storage, int64_t offset, const Shape& shape,
                     const Strides& strides, DType dtype);
  static const std::shared_ptr<detail::Storage>& storage(const Tensor& t) { return t.storage_; }
};

}  // namespace affine
