// Internal: run-time DType -> compile-time element type dispatch for affine's kernels.
//
//   detail::visit_float(t.dtype(), "exp", [&](auto tag) {
//     using T = AFFINE_T(tag);          // float or double
//     ...
//   });
//
// The lambda is instantiated once per element type, so a kernel is written once as a template.
// visit_float refuses int64 with an affine::Error naming the op (int64 carries indices, not
// arithmetic; see dtype.hpp); visit_dtype accepts all three types.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "affine/tensor/dtype.hpp"
#include "affine/tensor/error.hpp"

namespace affine::detail {

/// The element type a dispatch tag stands for: AFFINE_T(tag) is float, double or int64_t.
#define AFFINE_T(tag) typename decltype(tag)::type

template <class T>
using TypeTag = std::type_identity<T>;

/// Calls fn(TypeTag<float>{}) or fn(TypeTag<double>{}); throws affine::Error naming `op` for
/// int64 ("exp: int64 tensors support no arithmetic (convert with to(DType::f32))").
template <class Fn>
decltype(auto) visit_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return std::forward<Fn>(fn)(TypeTag<float>{});
    case DType::f64:
      return std::forward<Fn>(fn)(TypeTag<double>{});
    case DType::i64:
      break;
  }
  throw Error(std::string(op) + ": " + std::string(dtype_name(dtype)) +
              " tensors support no arithmetic (convert with to(DType::f32) or to(DType::f64))");
}

/// visit_float with a generic operation name; prefer the overload that names the op.
template <class Fn>
decltype(auto) visit_float(DType dtype, Fn&& fn) {
  return visit_float(dtype, "arithmetic", std::forward<Fn>(fn));
}

/// Calls fn(TypeTag<T>{}) for T = float, double or int64_t.
template <class Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return std::forward<Fn>(fn)(TypeTag<float>{});
    case DType::f64:
      return std::forward<Fn>(fn)(TypeTag<double>{});
    case DType::i64:
      break;
  }
  return std::forward<Fn>(fn)(TypeTag<int64_t>{});
}

/// Throws affine::Error naming `op` unless both dtypes are equal and floating (ops.hpp: affine
/// does not promote silently): "add: dtypes float32 and float64 differ (convert with to())".
inline void check_same_float(const char* op, DType a, DType b) {
  if (a != b) {
    throw Error(std::string(op) + ": dtypes " + std::string(dtype_name(a)) + " and " +
                std::string(dtype_name(b)) +
                " differ; affine does not promote implicitly (convert one with Tensor::to)");
  }
  if (a == DType::i64) {
    throw Error(std::string(op) +
                ": int64 tensors support no arithmetic (convert with to(DType::f32) or "
                "to(DType::f64))");
  }
}

}  // namespace affine::detail
