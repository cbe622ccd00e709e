// safetensors' names for affine's dtypes, shared by the file reader/writer and the messages of
// loads that compare a file with a model.
#pragma once

#include "affine/tensor/dtype.hpp"

namespace affine::nn::detail {

/// "F32", "F64" or "I64".
const char* safetensors_dtype_name(DType d);

}  // namespace affine::nn::detail
