// Shape, strides and axis lists: a small inline vector of int64 (rank 0..8), so that building and
// copying a tensor's metadata never touches the heap.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

#include "affine/tensor/export.hpp"

namespace affine {

/// The largest rank a Tensor may have.
inline constexpr int kMaxRank = 8;

/// A list of at most kMaxRank int64 values: a tensor's shape, its strides, or a list of axes.
class AFFINE_API Dims {
 public:
  Dims() = default;
  /// Throws affine::Error if the list is longer than kMaxRank.
  Dims(std::initializer_list<int64_t> values);
  /// Throws affine::Error if the vector is longer than kMaxRank.
  explicit Dims(const std::vector<int64_t>& values);
  /// n copies of value (n <= kMaxRank).
  static Dims filled(int n, int64_t value);

  int size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t& operator[](int i) { return v_[static_cast<size_t>(i)]; }
  int64_t operator[](int i) const { return v_[static_cast<size_t>(i)]; }
  int64_t* begin() { return v_.data(); }
  int64_t* end() { return v_.data() + size_; }
  const int64_t* begin() const { return v_.data(); }
  const int64_t* end() const { return v_.data() + size_; }
  int64_t back() const { return v_[static_cast<size_t>(size_ - 1)]; }
  /// Appends a value; throws affine::Error past kMaxRank.
  void push_back(int64_t value);
  /// Inserts value before position pos (0 <= pos <= size()); throws affine::Error past kMaxRank.
  void insert(int pos, int64_t value);
  /// Removes the value at position pos.
  void erase(int pos);
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }

  friend AFFINE_API bool operator==(const Dims& a, const Dims& b);

 private:
  std::array<int64_t, kMaxRank> v_{};
  int size_ = 0;
};

using Shape = Dims;
using Strides = Dims;
using Axes = Dims;

/// Number of elements of a shape (1 for rank 0). Throws affine::Error naming `op` on a negative
/// dimension or if the product overflows int64.
AFFINE_API int64_t shape_numel(const Shape& shape, const char* op = "shape");

/// Row-major (C order) strides of a shape, in elements.
AFFINE_API Strides contiguous_strides(const Shape& shape);

/// "[3, 4]"; "[]" for rank 0.
AFFINE_API std::string to_string(const Dims& dims);
AFFINE_API std::ostream& operator<<(std::ostream& os, const Dims& dims);

/// Maps a possibly negative axis (-rank..rank-1) to 0..rank-1; throws affine::Error naming `op`,
/// the axis and the rank when it is out of range.
AFFINE_API int normalize_axis(int64_t axis, int rank, const char* op);

}  // namespace affine
