// Internal: the MPI side of a World and the helpers every dist operation uses (error checks,
// bounded waits, the header exchange that catches mismatched collectives).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "affine/dist/collectives.hpp"
#include "affine/dist/world.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::dist {

struct World::Impl {
  MPI_Comm comm = MPI_COMM_NULL;  ///< a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN
  /// Another duplicate, for the questions a timed-out rank asks the others ("where are you?"),
  /// kept apart so they can never match a collective's own messages.
  MPI_Comm roll_call = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  double timeout = 300;
  /// More ranks on this machine than cores: waits yield the CPU between polls.
  bool oversubscribed = false;
  /// Set when a collective failed or timed out: the ranks may be out of step, so the World's
  /// destructor aborts every rank instead of finalising (which could wait forever).
  mutable bool broken = false;
};

namespace detail {

/// Throws affine::Error "op: MPI error: <MPI's text>" (and marks the world broken) unless rc is
/// MPI_SUCCESS.
void check(const World& world, int rc, const char* op);

/// Waits for the requests, polling MPI (which also drives its progress) and yielding the CPU;
/// while waiting it answers other ranks' roll calls with op. After World::timeout() seconds it
/// calls the roll (see roll_call in world.cpp) and throws affine::Error naming op, this rank, and
/// the ranks that did not answer (those stuck outside affine::dist: computing, hung or dead).
void wait_all(const World& world, std::vector<MPI_Request>& requests, const char* op);
void wait(const World& world, MPI_Request& request, const char* op);

/// True (without waiting) when every request has completed; drives MPI's progress engine.
bool test_all(const World& world, std::vector<MPI_Request>& requests, const char* op);

MPI_Datatype mpi_type(DType dtype);

/// The address of t's element 0 (any dtype), for handing a contiguous tensor to MPI.
void* raw(const Tensor& t);

/// What a rank passes to a collective, compared across ranks before any data moves.
struct Header {
  const char* op;        ///< the collective's name (compared by a code, printed as text)
  const Tensor* tensor;  ///< may be null (collectives without a tensor) or undefined
  int64_t root = -1;     ///< broadcast's root, else -1
  int64_t reduce = -1;   ///< the ReduceOp, else -1
};

/// Exchanges h among all ranks (one small allreduce). If any field differs anywhere, every rank
/// throws the same affine::Error listing each rank's call.
void agree(const World& world, const Header& h);

/// t /= size elementwise on a contiguous tensor (the mean from a sum; int64 truncates).
void divide(Tensor& t, int size);

/// Root's contiguous buffer t to every rank, with no header check (callers have checked).
void broadcast_raw(const World& world, Tensor& t, int root, const char* op);

}  // namespace detail
}  // namespace affine::dist
