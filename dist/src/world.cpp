// World: MPI initialisation, bounded waits, and failing together (no rank left waiting).
#include "affine/dist/world.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "affine/tensor/error.hpp"
#include "comm.hpp"

namespace affine::dist {

namespace {

// Installed by World: an uncaught exception on any rank ends every rank with a message naming it.
// (std::terminate's handler is process-wide; MPI itself is process-wide state too.)
[[noreturn]] void terminate_all() {
  int rank = -1;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::string what = "std::terminate called";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      what = "uncaught exception of unknown type";
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr, "affine::dist: rank %d of %d failed: %s; aborting every rank\n", rank, size,
               what.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

double timeout_from(const WorldOptions& options) {
  if (options.timeout < 0) throw Error("dist::init: timeout must be >= 0 seconds");
  if (options.timeout > 0) return options.timeout;
  if (const char* env = std::getenv("AFFINE_DIST_TIMEOUT"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double t = std::strtod(env, &end);
    if (end == env || *end != '\0' || !(t > 0)) {
      throw Error(std::string("dist::init: AFFINE_DIST_TIMEOUT='") + env +
                  "' is not a positive number of seconds");
    }
    return t;
  }
  return 300;
}

}  // namespace

World::World(int& argc, char**& argv, WorldOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout_from(options);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized != 0) throw Error("dist::init: MPI is already initialised in this process");
  int provided = 0;
  // FUNNELED: only the thread that made the World calls MPI (affine's GEMM workers never do).
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw Error("dist::init: MPI_Init_thread failed");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm);
  MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(impl_->comm, &impl_->rank);
  MPI_Comm_size(impl_->comm, &impl_->size);
  // Ranks on this machine (those sharing memory) against its cores.
  MPI_Comm local = MPI_COMM_NULL;
  int local_size = 1;
  if (MPI_Comm_split_type(impl_->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
      MPI_SUCCESS) {
    MPI_Comm_size(local, &local_size);
    MPI_Comm_free(&local);
  }
  const unsigned cores = std::thread::hardware_concurrency();
  impl_->oversubscribed = cores > 0 && static_cast<unsigned>(local_size) > cores;
  std::set_terminate(terminate_all);
}

World::World(World&& other) noexcept = default;

World::~World() {
  if (!impl_) return;  // moved from
  if (std::uncaught_exceptions() > 0) {
    abort("an exception is unwinding through dist::World");
  }
  if (impl_->broken) abort("a collective failed (see the error above)");
  MPI_Comm_free(&impl_->comm);
  MPI_Finalize();
}

int World::rank() const { return impl_->rank; }
int World::size() const { return impl_->size; }
double World::timeout() const { return impl_->timeout; }

void World::barrier() const { detail::agree(*this, {.op = "barrier", .tensor = nullptr}); }

void World::abort(const std::string& why) const {
  std::fflush(stdout);
  std::fprintf(stderr, "affine::dist: rank %d of %d failed: %s; aborting every rank\n", impl_->rank,
               impl_->size, why.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this satisfies [[noreturn]]
}

World init(int& argc, char**& argv, WorldOptions options) { return World(argc, argv, options); }

namespace detail {

void check(const World& world, int rc, const char* op) {
  if (rc == MPI_SUCCESS) return;
  world.impl().broken = true;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(op) + ": MPI error on rank " + std::to_string(world.rank()) + ": " +
              std::string(text, static_cast<size_t>(len)));
}

bool test_all(const World& world, std::vector<MPI_Request>& requests, const char* op) {
  if (requests.empty()) return true;
  int done = 0;
  check(world,
        MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE),
        op);
  return done != 0;
}

void wait_all(const World& world, std::vector<MPI_Request>& requests, const char* op) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto limit = std::chrono::duration<double>(world.timeout());
  // Busy-poll, as MPI_Wait itself does: a collective moves only while both sides poll, and on a
  // loaded machine a process that sleeps or yields waits milliseconds for its next time slice
  // (measured at load 18 on 2 cores: 20 ms instead of 5 us per small allreduce, and 130 ms
  // instead of 8 ms for 7 MB when yielding after 1 ms). When ranks outnumber cores, yield between
  // polls, or the spinner starves the rank it waits for. After 100 ms the peer is slow anyway
  // (a rank still computing): sleep between polls so a waiting rank costs no CPU.
  const bool crowded = world.impl().oversubscribed;
  for (int polls = 0; !test_all(world, requests, op); ++polls) {
    if (polls % 64 != 0 && !crowded) continue;
    const auto waited = Clock::now() - start;
    if (waited > limit) {
      world.impl().broken = true;
      throw Error(std::string(op) + ": rank " + std::to_string(world.rank()) + " of " +
                  std::to_string(world.size()) + " timed out after " +
                  std::to_string(world.timeout()) +
                  " s waiting for the other ranks (one may have died, be stuck, or be in a "
                  "different collective); set WorldOptions::timeout or AFFINE_DIST_TIMEOUT");
    }
    if (waited > std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    } else if (crowded) {
      std::this_thread::yield();
    }
  }
}

void wait(const World& world, MPI_Request& request, const char* op) {
  std::vector<MPI_Request> one{request};
  wait_all(world, one, op);
  request = one[0];
}

}  // namespace detail
}  // namespace affine::dist
