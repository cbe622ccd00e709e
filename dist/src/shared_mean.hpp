// Internal: buffers that live in memory shared by every rank of one machine, and their mean across
// ranks computed in place (DataParallel's gradient buckets).
//
// Why: with one thread per process and as many processes as cores, no core is free to move a
// non-blocking allreduce while backward computes (Open MPI's shared-memory transport moves data
// only inside MPI calls), so the average is paid in full after backward; MPI_Iallreduce (libnbc)
// took 3.4 ms for the MLP's 7.45 MB on 2 ranks of the Xeon where reading each other's memory
// takes under 1. The buffers themselves (the parameters' .grad) live in the shared mapping, so
// backward writes the gradients where the other ranks read them and nothing is copied in or out.
//
// Layout: one POSIX shared-memory object, mapped by every rank, holding one segment per rank; rank
// r's buffers are in segment r. mean(): after a barrier (every rank's buffers are final), rank r
// sums slice r (1/N) of every buffer over the segments in rank order (deterministic), divides by
// N and writes the mean into every segment; after a second barrier every buffer holds the mean.
// Both barriers are MPI_Ibarrier waited with the World's bounded wait, so a dead or stalled rank
// is reported as in any collective.
//
// Lifetime: each buffer is a Tensor::from_blob over the mapping, which it keeps alive, so a
// parameter's .grad stays valid after the DataParallel is gone. The object's name is unlinked as
// soon as every rank has mapped it: nothing is left in /dev/shm, even if a rank dies later.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "affine/dist/world.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::dist::detail {

class SharedMean {
 public:
  /// Shared buffers of the given element counts and dtypes (the same on every rank), zeroed; or
  /// null when the ranks do not all share this machine's memory, when there is one rank, when a
  /// dtype is neither float32 nor float64, or when any rank cannot map shared memory (the same
  /// answer on every rank). Collective.
  static std::unique_ptr<SharedMean> create(const World& world,
                                            const std::vector<std::pair<int64_t, DType>>& layout,
                                            const char* op);
  ~SharedMean();
  SharedMean(const SharedMean&) = delete;
  SharedMean& operator=(const SharedMean&) = delete;

  /// This rank's buffer i: a 1-D contiguous tensor over shared memory.
  const Tensor& buffer(size_t i) const { return buffers_[i]; }

  /// Every buffer := its mean over the ranks, bit-identical on every rank. Collective.
  void mean();

 private:
  SharedMean(const World& world, const char* op) : world_(world), op_(op) {}
  void barrier();

  const World& world_;
  const char* op_;
  MPI_Comm node_ = MPI_COMM_NULL;
  std::vector<char*> segments_;  ///< every rank's segment, as mapped in this process
  std::vector<size_t> offsets_;  ///< each buffer's byte offset inside a segment
  std::vector<Tensor> buffers_;  ///< this rank's buffers (views of its segment)
};

}  // namespace affine::dist::detail
