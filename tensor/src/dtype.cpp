#include "affine/tensor/dtype.hpp"

namespace affine {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "float32";
    case DType::f64:
      return "float64";
    case DType::i64:
      return "int64";
  }
  return "unknown";  // only reachable through a cast of an invalid enum value
}

}  // namespace affine
