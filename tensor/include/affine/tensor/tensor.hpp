// Tensor: a dense, strided view of reference-counted, 64-byte aligned storage.
//
// Copying a Tensor is cheap and shares the data (as in NumPy and PyTorch); clone() copies it.
// Views (transpose, permute, slice, reshape of contiguous data, unsqueeze, squeeze, expand) share
// storage and differ only in shape, strides and offset. Every operation accepts strided inputs.
// Arithmetic lives in ops.hpp; random factories take an explicit Generator (random.hpp).
//
// Exception guarantee: strong throughout. Every operation checks its arguments (and allocates)
// before it writes, so a throwing fill_/copy_/set leaves the tensor as it was; errors are
// affine::Error (ValueError for bad arguments), and running out of memory is affine::Error too.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "affine/tensor/dtype.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/shape.hpp"

namespace affine {

class Generator;

namespace detail {
struct Storage;  ///< the buffer behind a tensor (internal: affine/tensor/internal/access.hpp)
}  // namespace detail

class AFFINE_API Tensor {
 public:
  /// An undefined tensor (defined() is false); most operations on it throw affine::Error.
  Tensor() = default;

  // ---- factories ---------------------------------------------------------------------------
  /// Uninitialised contents (use when every element is written next).
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  /// A rank-0 tensor holding value.
  static Tensor scalar(double value, DType dtype = DType::f32);
  /// start, start + step, ... up to but excluding stop (NumPy's arange). step != 0.
  static Tensor arange(double start, double stop, double step = 1, DType dtype = DType::f32);
  /// n evenly spaced values from start to stop inclusive (n >= 0).
  static Tensor linspace(double start, double stop, int64_t n, DType dtype = DType::f32);
  /// The n x n identity matrix.
  static Tensor eye(int64_t n, DType dtype = DType::f32);
  /// Copies values into a tensor of the given shape (default: 1-D); sizes must agree.
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<float>& values);
  static Tensor from_vector(const std::vector<double>& values);
  static Tensor from_vector(const std::vector<int64_t>& values);
  /// A contiguous tensor over memory the caller provides (PyTorch's from_blob): data, 64-byte
  /// aligned, holds shape's elements; affine never frees or copies it, and keeps owner (what keeps
  /// data valid) alive until the last view of the tensor is gone. data may be null only when
  /// shape has no elements.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner);
  /// Values converted to dtype, in a tensor of the given shape: Tensor::of({1, 2, 3, 4}, {2, 2}).
  static Tensor of(std::initializer_list<double> values, const Shape& shape,
                   DType dtype = DType::f32);
  /// Uniform on [0, 1).
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32);
  /// Standard normal.
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32);
  /// Uniform on [low, high).
  static Tensor uniform(const Shape& shape, double low, double high, Generator& gen,
                        DType dtype = DType::f32);
  /// Normal with the given mean and standard deviation (std >= 0).
  static Tensor normal(const Shape& shape, double mean, double std, Generator& gen,
                       DType dtype = DType::f32);

  // ---- metadata ----------------------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  /// Strides in elements (not bytes); 0 along broadcast (expanded) dimensions.
  const Strides& strides() const { return strides_; }
  int rank() const { return shape_.size(); }
  /// Size of dimension dim; negative dims count from the end.
  int64_t size(int64_t dim) const;
  int64_t numel() const { return numel_; }
  /// Offset of element 0 from the start of the storage, in elements.
  int64_t offset() const { return offset_; }
  /// True when the elements are laid out densely in row-major order.
  bool is_contiguous() const;
  /// True when both tensors view the same storage buffer.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

  // ---- version counter (as PyTorch's tensor._version) --------------------------------------
  /// How many times the storage was modified in place (fill_, copy_, set, non-const at, or an
  /// explicit bump_version()); shared by every view of the storage; 0 for an undefined tensor.
  /// Autograd records it for each tensor a backward step needs and refuses to run that step if
  /// it changed ("backward of mul: an input saved for the gradient was modified in place").
  uint64_t version() const;
  /// Marks the storage as modified in place. Writes through data<T>() are not tracked: code that
  /// writes a tensor someone may have saved for backward (optimizers, in-place updates) calls
  /// this once per write. No-op on an undefined tensor.
  void bump_version() const;

  // ---- element access ----------------------------------------------------------------------
  /// Pointer to element 0 of this view. T must match dtype() (throws affine::Error otherwise).
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  /// Bounds-checked reference to one element; index has one entry per dimension. The non-const
  /// overload counts as an in-place modification (bumps version()).
  template <class T>
  T& at(const Dims& index);
  template <class T>
  const T& at(const Dims& index) const;
  /// The element at index, converted to double.
  double get(const Dims& index) const;
  /// Sets the element at index (converted from double); bumps version().
  void set(const Dims& index, double value);
  /// The single element of a tensor with numel() == 1, as double.
  double item() const;
  /// All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- views (share storage) ---------------------------------------------------------------
  /// Swaps two dimensions.
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  /// Transpose of a rank-2 tensor (rank 0 and 1 are returned unchanged).
  Tensor t() const;
  /// Reorders dimensions: result dim i is this tensor's dim dims[i].
  Tensor permute(const Dims& dims) const;
  /// Same data, new shape; one entry may be -1. A view when the strides allow it, else a copy.
  Tensor reshape(const Shape& shape) const;
  /// As reshape, but never copies: throws affine::Error when a view is impossible.
  Tensor view(const Shape& shape) const;
  /// Flattens to 1-D.
  Tensor flatten() const { return reshape({-1}); }
  /// Elements start, start + step, ... before end along dim; start/end clamp like Python slices
  /// (negative values count from the end); step >= 1.
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  /// length elements from start along dim; must lie within the dimension.
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  /// The sub-tensor at position index of dimension 0 (rank drops by one).
  Tensor operator[](int64_t index) const;
  /// Inserts a dimension of size 1 before dim (dim may equal rank()).
  Tensor unsqueeze(int64_t dim) const;
  /// Removes every dimension of size 1.
  Tensor squeeze() const;
  /// Removes dimension dim, which must have size 1.
  Tensor squeeze(int64_t dim) const;
  /// Broadcast view to shape (NumPy rules; size-1 dims get stride 0). -1 keeps a size.
  Tensor expand(const Shape& shape) const;

  // ---- copies ------------------------------------------------------------------------------
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A contiguous deep copy.
  Tensor clone() const;
  /// A contiguous copy converted to dtype (this tensor itself when dtype already matches).
  Tensor to(DType dtype) const;

  // ---- in place (each bumps version()) ------------------------------------------------------
  /// Sets every element to value.
  Tensor& fill_(double value);
  /// Copies src (broadcast to this shape, converted to this dtype) into this tensor's elements.
  Tensor& copy_(const Tensor& src);

 private:
  std::shared_ptr<detail::Storage> storage_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  Shape shape_;
  Strides strides_;
  DType dtype_ = DType::f32;

  friend struct TensorAccess;
};

/// Prints dtype, shape and values NumPy-style; large tensors are abbreviated with "...".
AFFINE_API std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// The text operator<< prints.
AFFINE_API std::string to_string(const Tensor& t);

}  // namespace affine
