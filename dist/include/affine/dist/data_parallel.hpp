// DataParallel: one model trained by many processes, each on its own shard of every batch, as
// torch.nn.parallel.DistributedDataParallel.
//
//   dist::World world = dist::init(argc, argv);
//   nn::Sequential net{...};
//   dist::DataParallel model(world, net);          // rank 0's weights everywhere
//   optim::SGD opt(model.parameters(), {...});
//   for (...) {
//     tape.clear(); opt.zero_grad();
//     Var loss = loss_fn(model(tape.leaf(x_shard, false)), y_shard);
//     loss.backward();   // gradients are averaged over the ranks by the time this returns
//     opt.step();        // every rank takes the same step
//   }
//
// With the loss a mean over each rank's shard of B / size() rows, the averaged gradient is the
// gradient of the mean over the global batch of B rows, so N processes follow the same
// trajectory as one process with batch B (up to rounding).
//
// How gradients travel: parameters are grouped, in reverse registration order (the order backward
// finishes them), into buckets of at most bucket_bytes (the first one first_bucket_bytes). Each
// parameter's gradient lives inside its bucket's flat buffer (Parameter::grad is a view of it).
// forward() asks the tape to report, during backward's reverse walk, each parameter whose leaf it
// passes (its gradient is then final); when every parameter of a bucket is final the bucket's sum
// starts with a non-blocking MPI allreduce, so communication overlaps the rest of backward.
// Buckets start in index order on every rank, as MPI requires. When the walk ends, the remaining
// buckets start, all are awaited (bounded by World::timeout()) and divided by size(). With
// shared_memory (the default) and every rank on one machine, the buckets live in memory shared by
// the ranks and are averaged together in place when the walk ends (see DataParallelOptions).
//
// Every rank must pass the same options (checked at construction, as the model's layout).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "affine/dist/world.hpp"
#include "affine/nn/module.hpp"

namespace affine::dist {

/// Settings of a DataParallel.
struct DataParallelOptions {
  /// Largest bucket of gradients sent in one allreduce (PyTorch's bucket_cap_mb = 25 MiB).
  size_t bucket_bytes = size_t{25} << 20;
  /// The first bucket (the last layers' gradients, final first) is smaller so communication
  /// starts early, as PyTorch's 1 MiB first bucket.
  size_t first_bucket_bytes = size_t{1} << 20;
  /// Before each synchronised forward, copy rank 0's buffers (e.g. running statistics) to every
  /// rank, as PyTorch's broadcast_buffers.
  bool broadcast_buffers = true;
  /// When every rank runs on one machine, keep the gradient buckets (the parameters' .grad) in
  /// memory shared by the ranks and average them after backward in place (each rank sums its
  /// share of every bucket straight from the others' memory) instead of MPI's non-blocking
  /// allreduce. Faster when the ranks fill the cores (no core is left to move a non-blocking
  /// allreduce during backward, and nothing is copied); the same result bit for bit on 2 ranks,
  /// and in rank order (deterministic) on more. Ignored across machines, or where shared memory
  /// cannot be mapped (then uses_shared_memory() is false).
  bool shared_memory = true;
};

class DataParallel : public nn::Module {
 public:
  /// Wraps module (which must outlive this) and copies rank 0's parameters and buffers to every
  /// rank, after checking that every rank's state_dict() has the same names, dtypes and shapes in
  /// the same order, and that every rank passed the same options: otherwise every rank throws
  /// affine::Error naming the first mismatch.
  DataParallel(const World& world, nn::Module& module, DataParallelOptions options = {});
  ~DataParallel() override;

  /// module(x); when x is on a recording tape and no NoSync is alive, the following backward
  /// averages the gradients across ranks.
  Var forward(const Var& x) override;
  /// "DataParallel(<module's name>)".
  std::string name() const override;

  /// While alive, backward passes only accumulate local gradients (no communication): for
  /// gradient accumulation, run k - 1 micro-batches inside a NoSync and the k-th outside it.
  class NoSync {
   public:
    explicit NoSync(DataParallel& owner);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DataParallel& owner_;
    bool previous_;
  };
  /// A NoSync for this model: `{ auto guard = model.no_sync(); ...backward... }`.
  NoSync no_sync() { return NoSync(*this); }

  /// The wrapped module.
  nn::Module& module() { return module_; }
  /// Number of gradient buckets (allreduces per synchronised backward).
  size_t bucket_count() const;
  /// True when gradients are averaged through shared memory (shared_memory and every rank on
  /// this machine), false when through MPI's allreduce.
  bool uses_shared_memory() const;

 private:
  class Reducer;
  const World& world_;
  nn::Module& module_;
  DataParallelOptions options_;
  std::unique_ptr<Reducer> reducer_;
  bool sync_ = true;
};

}  // namespace affine::dist
