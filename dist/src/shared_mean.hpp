// Internal: the mean of same-shaped buffers across ranks through an MPI-3 shared-memory window,
// for ranks that all run on one machine (DataParallel's gradients).
//
// Why: with one thread per process and as many processes as cores, no core is free to move a
// non-blocking allreduce while backward computes (Open MPI's shared-memory transport moves data
// only inside MPI calls), so the average is paid in full after backward; MPI_Iallreduce (libnbc)
// took 3.4 ms for the MLP's 7.45 MB on 2 ranks of the Xeon where reading each other's memory
// takes 1. Rank r owns slice r (1/N) of every buffer: every rank copies the slices it does not own
// into its segment of the window; after a barrier, rank r sums its slice over the segments (its
// own part read from its own buffer), in rank order (deterministic), divides by N and writes the
// mean into its buffer and the other ranks' segments; after a second barrier each rank copies
// the other slices back from its segment. Both barriers are MPI_Ibarrier waited with the World's
// bounded wait, so a dead or stalled rank is reported as in any collective.
#pragma once

#include <mpi.h>

#include <memory>
#include <vector>

#include "affine/dist/world.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::dist::detail {

class SharedMean {
 public:
  /// A window with room for buffers (contiguous tensors, the same numel and dtype in the same
  /// order on every rank), or null when the ranks do not all share this machine's memory, when
  /// there is one rank, or when a buffer is neither float32 nor float64. Collective.
  static std::unique_ptr<SharedMean> create(const World& world, const std::vector<Tensor>& buffers,
                                            const char* op);
  ~SharedMean();
  SharedMean(const SharedMean&) = delete;
  SharedMean& operator=(const SharedMean&) = delete;

  /// buffers[i] := the mean of buffers[i] over the ranks, bit-identical on every rank. Collective;
  /// buffers must be laid out as at create() (checked: affine::Error otherwise).
  void mean(std::vector<Tensor>& buffers);

 private:
  SharedMean(const World& world, const char* op) : world_(world), op_(op) {}
  void barrier();

  const World& world_;
  const char* op_;
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  std::vector<char*> segments_;  ///< every rank's segment, as mapped in this process
  std::vector<size_t> offsets_;  ///< each buffer's byte offset inside a segment
  std::vector<int64_t> numels_;  ///< each buffer's element count at create()
  std::vector<DType> dtypes_;    ///< and its dtype
};

}  // namespace affine::dist::detail
