// NumPy .npy files, so tensors move to and from Python.
// Reads format versions 1.0, 2.0 and 3.0 with dtypes <f4, <f8 and <i8 in C order (Fortran-order
// files are refused with a clear error); writes version 1.0 (2.0 when the header needs it).
#pragma once

#include <string>

#include "affine/tensor/export.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine {

/// Writes t (any layout) to path as .npy; throws affine::Error naming the path on I/O failure.
/// The file is written to a temporary name and renamed, so a failure never leaves a partial file.
AFFINE_API void save_npy(const std::string& path, const Tensor& t);

/// Reads a .npy file; throws affine::Error naming the path and the problem for anything malformed
/// (bad magic, version, header, dtype, shape, truncated data) before allocating the data.
AFFINE_API Tensor load_npy(const std::string& path);

/// As load_npy, from the bytes of a file held in memory (`name` is used in messages).
AFFINE_API Tensor parse_npy(const std::string& bytes, const std::string& name = "<memory>");

}  // namespace affine
