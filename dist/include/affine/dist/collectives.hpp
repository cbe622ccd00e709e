// Collectives on Tensors (float32, float64, int64), with torch.distributed's names and semantics.
//
// Every call first exchanges a small header (operation, dtype, shape, root, reduction) among the
// ranks; if any rank disagrees, every rank throws the same affine::Error listing what each rank
// passed, instead of exchanging mismatched buffers. Tensors may be strided; in-place results are
// written back into the caller's view. Waits are bounded by World::timeout().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "affine/dist/world.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::dist {

/// How all_reduce and reduce_scatter combine values across ranks. mean divides the sum by
/// size() (int64: truncating division).
enum class ReduceOp { sum, mean, max, min };

/// Combines t elementwise across ranks, in place: afterwards every rank holds the result.
void all_reduce(const World& world, Tensor& t, ReduceOp op = ReduceOp::sum);

/// Copies root's t into t on every other rank (same shape and dtype everywhere).
void broadcast(const World& world, Tensor& t, int root = 0);

/// Every rank's t stacked along a new first dimension: [size(), ...t.shape()], rank order.
Tensor all_gather(const World& world, const Tensor& t);

/// Reduces t across ranks and gives rank r the r-th of size() equal slices along dimension 0:
/// t [size() * k, ...] -> [k, ...] (torch's reduce_scatter_tensor). Throws affine::Error unless
/// t.size(0) is a multiple of size().
Tensor reduce_scatter(const World& world, const Tensor& t, ReduceOp op = ReduceOp::sum);

/// Named tensors of any shapes from root to every rank: other ranks' lists are replaced by
/// root's (names, dtypes, shapes and values). Used to share an optimizer's state.
void broadcast(const World& world, std::vector<std::pair<std::string, Tensor>>& tensors,
               int root = 0);

/// Root's string on every rank.
void broadcast(const World& world, std::string& s, int root = 0);

}  // namespace affine::dist
