// The processes of an example's run (moons, digits): one, or with --distributed the ranks of an
// MPI job (affine::dist). Rank 0 prints and writes the files; every rank trains on its shard of
// each global batch, and DataParallel keeps the weights identical on all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <affine/affine.hpp>

namespace examples {

class Cluster {
 public:
  /// One process, or with distributed the MPI job this process belongs to. Throws affine::Error
  /// (naming program) for distributed when the example was built without affine::dist.
  Cluster(int& argc, char**& argv, bool distributed, const std::string& program);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int rank() const;
  int size() const;
  /// Rank 0: the process that prints and writes.
  bool lead() const { return rank() == 0; }

  /// What to train: net itself on one process; on many, net wrapped in a dist::DataParallel
  /// (rank 0's weights everywhere, gradients averaged over the ranks in backward).
  affine::nn::Module& wrap(affine::nn::Module& net);

  /// The batches of one epoch: on one process, loader itself (each pass reshuffles); on many, this
  /// rank's share of every global batch: rows from a DistributedSampler(seed, epoch), split into
  /// batches of batch / size() (batch must be a multiple of size(); throws affine::Error if not).
  affine::nn::data::DataLoader& epoch(affine::nn::data::DataLoader& loader, const affine::Tensor& x,
                                      const affine::Tensor& y, int epoch);

  /// value summed over the processes (every rank gets the total; value itself on one process).
  double sum(double value) const;

  /// On many processes: ends every rank after an error on this one (MPI_Abort, exit status 1).
  void abort_all(const std::string& why) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace examples
