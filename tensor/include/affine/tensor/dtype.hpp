// Element types. float32 is the fast path, float64 serves gradcheck and users who need it; int64
// holds indices (argmax results, class targets) and supports creation, views, copies, conversion
// and element access, but no arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "affine/tensor/export.hpp"

namespace affine {

/// The element type of a Tensor.
enum class DType { f32, f64, i64 };

/// "float32", "float64" or "int64".
AFFINE_API std::string_view dtype_name(DType dtype);

/// Bytes per element.
constexpr size_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 8; }

/// The DType of a C++ element type: dtype_of<float> == DType::f32, and so on.
template <class T>
struct DTypeOf;  // only float, double and int64_t have a DType
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};
template <class T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace affine
