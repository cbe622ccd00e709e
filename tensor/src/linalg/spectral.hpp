// Internal: the SVD-based pieces other linalg files dispatch to.
#pragma once

#include <optional>

#include "affine/tensor/linalg.hpp"

namespace affine::detail::linalg {

/// lstsq with driver "gelsd" (pinv.cpp); A and B already checked (matrices, same dtype, rows
/// agree), B a matrix.
affine::linalg::Lstsq lstsq_gelsd(const Tensor& A, const Tensor& B, std::optional<double> rcond);

}  // namespace affine::detail::linalg
