// DistributedSampler: which rows of a data set each rank trains on, epoch by epoch, as
// torch.utils.data.distributed.DistributedSampler.
//
//   dist::DistributedSampler sampler(x.size(0), world, {.seed = 1});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     sampler.set_epoch(epoch);                       // same permutation on every rank
//     auto rows = sampler.indices();                  // this rank's shard
//     nn::data::DataLoader loader(nn::data::take_rows(x, rows), nn::data::take_rows(y, rows),
//                                 {.batch_size = B / world.size(), .shuffle = false});
//     ...
//   }
//
// Every epoch all ranks draw the same permutation of 0..n-1 from Generator(seed + epoch) (the
// same Fisher-Yates as DataLoader), then rank r takes positions r, r + R, r + 2R, ... (R ranks),
// so the shards are disjoint. When n is not a multiple of R, the remainder is handled as PyTorch
// does: by default the permutation is padded with its own first elements up to a multiple of R
// (a few samples count twice per epoch); with drop_last the tail is dropped instead. With batches
// of b rows per rank, batch k of all ranks together is rows k*b*R .. (k+1)*b*R of the permutation:
// the same global batch one process would take from that permutation with batch b*R.
#pragma once

#include <cstdint>
#include <vector>

#include "affine/dist/world.hpp"

namespace affine::dist {

/// Options of a DistributedSampler (PyTorch's names and defaults).
struct SamplerOptions {
  bool shuffle = true;     ///< a new permutation each epoch; else 0..n-1 in order
  uint64_t seed = 0;       ///< the permutation of epoch e comes from Generator(seed + e)
  bool drop_last = false;  ///< drop the tail instead of padding to a multiple of the ranks
};

class DistributedSampler {
 public:
  /// A sampler for `dataset_size` rows split among num_replicas ranks. Throws affine::Error for
  /// dataset_size < 0, num_replicas < 1 or rank outside [0, num_replicas).
  DistributedSampler(int64_t dataset_size, int num_replicas, int rank, SamplerOptions options = {});
  /// The same with world.size() and world.rank().
  DistributedSampler(int64_t dataset_size, const World& world, SamplerOptions options = {});

  /// Chooses the epoch whose permutation indices() returns (call before each epoch).
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }
  /// This rank's rows for the current epoch, in the order to visit them.
  std::vector<int64_t> indices() const;
  /// Rows per rank per epoch: ceil(n / R), or floor(n / R) with drop_last.
  int64_t num_samples() const { return num_samples_; }
  /// Rows of all ranks together per epoch (num_samples() * R).
  int64_t total_size() const { return num_samples_ * replicas_; }

 private:
  int64_t size_;
  int replicas_;
  int rank_;
  SamplerOptions options_;
  int64_t num_samples_;
  int64_t epoch_ = 0;
};

}  // namespace affine::dist
