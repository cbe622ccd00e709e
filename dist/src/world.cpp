// World: MPI initialisation, bounded waits, and failing together (no rank left waiting).
#include "affine/dist/world.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// The roll call: when a rank's wait times out, it cannot tell from the stuck collective which
// rank is missing. So it asks every other rank where it is. A rank that is itself waiting in a
// collective polls MPI and answers with the operation it waits in; a rank that does not answer
// within the window is stuck outside affine::dist (computing, hung, or dead): that is the one to
// name. Tags on the roll_call communicator:
constexpr int kQuestion = 1;
constexpr int kAnswer = 2;
constexpr int kAnswerBytes = 64;  // an operation's name, NUL-terminated (longer names are cut)

// Answers every question that has arrived with op, the operation this rank is waiting in.
void answer_roll_calls(const World& world, const char* op) {
  MPI_Comm rc = world.impl().roll_call;
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kQuestion, rc, &arrived, &status) != MPI_SUCCESS || !arrived)
      return;
    int asker = -1;
    MPI_Recv(&asker, 1, MPI_INT, status.MPI_SOURCE, kQuestion, rc, MPI_STATUS_IGNORE);
    char text[kAnswerBytes] = {};
    std::snprintf(text, sizeof text, "%s", op);
    // Small enough to be sent eagerly: the send completes without the asker's help.
    MPI_Send(text, kAnswerBytes, MPI_CHAR, status.MPI_SOURCE, kAnswer, rc);
  }
}

// Asks every other rank where it is and waits up to window seconds for the answers (answering
// theirs meanwhile); returns a sentence naming who did not answer and where the others wait.
std::string call_roll(const World& world, const char* op, double window) {
  const int me = world.rank();
  const int n = world.size();
  MPI_Comm rc = world.impl().roll_call;
  std::vector<MPI_Request> questions, answers;
  std::vector<std::array<char, kAnswerBytes>> texts(static_cast<size_t>(n));
  std::vector<int> peers;
  for (int r = 0; r < n; ++r) {
    if (r == me) continue;
    peers.push_back(r);
    questions.emplace_back(MPI_REQUEST_NULL);
    answers.emplace_back(MPI_REQUEST_NULL);
    MPI_Isend(&me, 1, MPI_INT, r, kQuestion, rc, &questions.back());
    MPI_Irecv(texts[static_cast<size_t>(r)].data(), kAnswerBytes, MPI_CHAR, r, kAnswer, rc,
              &answers.back());
  }
  std::vector<bool> answered(peers.size(), false);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < peers.size(); ++i) {
      if (answered[i]) continue;
      int done = 0;
      MPI_Test(&answers[i], &done, MPI_STATUS_IGNORE);
      answered[i] = done != 0;
      all = all && answered[i];
    }
    if (all || std::chrono::steady_clock::now() - start > std::chrono::duration<double>(window))
      break;
    answer_roll_calls(world, op);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string missing, waiting;
  for (size_t i = 0; i < peers.size(); ++i) {
    const std::string rank = std::to_string(peers[i]);
    if (!answered[i]) {
      missing += (missing.empty() ? "rank " : ", rank ") + rank;
    } else {
      texts[static_cast<size_t>(peers[i])].back() = '\0';
      waiting += (waiting.empty() ? "rank " : ", rank ") + rank + " in " +
                 texts[static_cast<size_t>(peers[i])].data();
    }
  }
  // The unanswered requests stay posted: the world is broken now and ends by MPI_Abort.
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", window);
  std::string s;
  if (!missing.empty()) {
    s = missing + " did not answer within " + secs +
        " s (stuck outside affine::dist: computing, hung, or dead)";
    if (!waiting.empty()) s += "; waiting: " + waiting;
  } else {
    s = "every other rank is waiting too (" + waiting +
        "): the ranks called different collectives, or the same ones in a different order";
  }
  return s;
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
  MPI_Comm_dup(MPI_COMM_WORLD, &impl_->roll_call);
  MPI_Comm_set_errhandler(impl_->roll_call, MPI_ERRORS_RETURN);
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
  MPI_Comm_free(&impl_->roll_call);
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
    if (world.size() > 1) answer_roll_calls(world, op);
    const auto waited = Clock::now() - start;
    if (waited > limit) {
      world.impl().broken = true;
      // The roll call's window: long enough for a loaded peer to get a time slice, short enough
      // that the whole failure stays within about 1.5 timeouts.
      const double window = std::clamp(world.timeout() / 2, 0.5, 10.0);
      char secs[32];
      std::snprintf(secs, sizeof secs, "%g", world.timeout());
      throw Error(std::string(op) + ": rank " + std::to_string(world.rank()) + " of " +
                  std::to_string(world.size()) + " timed out after " + secs +
                  " s waiting for the other ranks: " + call_roll(world, op, window) +
                  "; set WorldOptions::timeout or AFFINE_DIST_TIMEOUT");
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
