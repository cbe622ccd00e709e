// The MPI world: which process this is, how many there are, and how they fail together.
//
//   int main(int argc, char** argv) {
//     dist::World world = dist::init(argc, argv);   // MPI_Init; MPI_Finalize when world dies
//     if (world.rank() == 0) ...
//   }
//
// Launch with `mpirun -np 4 ./app` (one machine) or `mpirun -np 8 --hostfile hosts ./app`.
//
// Faults never hang: every wait is bounded by WorldOptions::timeout, MPI reports errors as return
// codes (MPI_ERRORS_RETURN) that become affine::Error, and a rank that leaves with an exception
// (uncaught, or unwinding through the World, or World::abort) prints a message naming itself and
// takes every rank down with MPI_Abort, so all of them exit non-zero. A rank killed outright is
// reported by mpirun ("process rank 1 ... exited on signal 9") as it ends the others. A rank that
// stops taking part without dying (hung, or computing too long) is named by the ranks whose wait
// timed out: they ask every rank where it is (ranks waiting in a collective answer with its name)
// for up to timeout / 2 more seconds (0.5 to 10), then fail naming the ranks that did not answer.
#pragma once

#include <memory>
#include <string>

namespace affine::dist {

/// Settings of a World.
struct WorldOptions {
  /// Longest wait for the other ranks in any collective, in seconds (then a roll call of up to
  /// timeout / 2, 0.5 to 10 s, finds who is missing). 0 means the environment variable
  /// AFFINE_DIST_TIMEOUT if set, else 300.
  double timeout = 0;
};

/// The processes of one MPI job (MPI_COMM_WORLD). Move-only; the last World ends MPI.
class World {
 public:
  /// Initialises MPI (once per process; throws affine::Error if MPI is already initialised).
  World(int& argc, char**& argv, WorldOptions options = {});
  /// Finalises MPI; if an exception is unwinding through it (or a collective failed), aborts every
  /// rank instead, so no peer waits forever for this one.
  ~World();
  World(World&&) noexcept;
  World& operator=(World&&) = delete;
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  /// This process's index, 0 .. size() - 1.
  int rank() const;
  /// Number of processes.
  int size() const;
  /// The bounded wait of every collective, in seconds.
  double timeout() const;
  /// Waits until every rank has called barrier() (bounded by timeout()).
  void barrier() const;
  /// Prints "affine::dist: rank R of N failed: why" to stderr and ends every rank with exit
  /// status 1 (MPI_Abort).
  [[noreturn]] void abort(const std::string& why) const;

  /// Internal: the communicator and failure state (dist/src).
  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// World(argc, argv, options): the spelling of torch.distributed.init_process_group.
World init(int& argc, char**& argv, WorldOptions options = {});

}  // namespace affine::dist
