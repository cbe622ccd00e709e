#include <cstdlib>
#include <new>
#include <string>

#include "affine/tensor/tensor.hpp"

namespace affine::detail {

namespace {
constexpr size_t kAlignment = 64;  // one cache line; also the widest SIMD load (AVX-512)
}

Storage::Storage(size_t n) : bytes(n) {
  // Zero-size storage still gets a real (one-line) allocation so data() is a valid, unique,
  // aligned pointer and "defined" tensors never carry a null pointer.
  size_t rounded = n == 0 ? kAlignment : n;
  if (rounded > SIZE_MAX - (kAlignment - 1)) {
    throw Error("Storage: cannot allocate " + std::to_string(n) + " bytes");
  }
  rounded = (rounded + kAlignment - 1) / kAlignment * kAlignment;  // aligned_alloc requires it
  data = std::aligned_alloc(kAlignment, rounded);
  if (data == nullptr) {
    throw Error("Storage: out of memory allocating " + std::to_string(n) + " bytes");
  }
}

Storage::~Storage() { std::free(data); }

}  // namespace affine::detail
