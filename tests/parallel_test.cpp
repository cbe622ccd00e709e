// The worker pool behind detail::parallel_for: every task runs exactly once on any thread count,
// each thread starts on its own contiguous range of tasks (the caller on the first), exceptions
// reach the caller, nested calls run serially, the helper does not stay on the caller's CPU, and
// a malformed AFFINE_POOL_SPIN_US is an error that names it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "affine/tensor/error.hpp"
#include "affine/tensor/parallel.hpp"
#include "parallel_for.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace affine {
namespace {

// Restores the thread setting a test changes.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

TEST(Parallel, EveryTaskRunsExactlyOnce) {
  for (const int threads : {1, 2, 3, 5}) {
    ThreadCount setting(threads);
    for (const int64_t n : {0, 1, 2, 3, 7, 64, 1001}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
      detail::parallel_for(n, threads, [&](int64_t t) { runs[static_cast<size_t>(t)]++; });
      for (int64_t t = 0; t < n; ++t)
        ASSERT_EQ(runs[static_cast<size_t>(t)].load(), 1)
            << "task " << t << " of " << n << " on " << threads << " threads";
    }
  }
}

// Holds the calling thread (bounded, so a broken pool fails instead of hanging) until done().
template <class Done>
void hold_until(const Done& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
}

// The caller owns the first half of the tasks and the helper the second. The caller is held in
// the first task it runs until the helper has started, so the caller cannot empty the helper's
// range first: the helper must begin with the front of its own range, n / 2, not with whatever a
// shared counter would hand it.
TEST(Parallel, EachThreadStartsOnItsOwnRange) {
  ThreadCount setting(2);
  constexpr int64_t n = 40;
  for (int call = 0; call < 3; ++call) {
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int64_t> helper_first{-1};
    bool caller_started = false;  // touched by the caller only
    detail::parallel_for(n, 2, [&](int64_t t) {
      if (std::this_thread::get_id() != caller) {
        int64_t none = -1;
        helper_first.compare_exchange_strong(none, t);
      } else if (!caller_started) {
        caller_started = true;
        hold_until([&] { return helper_first.load() >= 0; });
      }
    });
    EXPECT_EQ(helper_first.load(), n / 2) << "call " << call;
  }
}

// A thread that finishes its range early takes the others' tasks from their backs, so one held-up
// thread does not hold up the job. The caller is held in the first task it runs (task 0, the
// front of its range) until every other task is done: the helper runs its own range in order,
// then the caller's from the back. (If the caller only arrives after the helper has taken
// everything, the helper's last task is 0.)
TEST(Parallel, AnIdleThreadTakesTheRestFromTheBack) {
  ThreadCount setting(2);
  constexpr int64_t n = 10;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> helper_done{0};
  bool caller_started = false;        // touched by the caller only
  std::vector<int64_t> helper_order;  // touched by the helper only
  detail::parallel_for(n, 2, [&](int64_t t) {
    if (std::this_thread::get_id() != caller) {
      helper_order.push_back(t);
      ++helper_done;
    } else if (!caller_started) {
      caller_started = true;
      hold_until([&] { return helper_done.load() >= n - 1; });
    }
  });
  std::vector<int64_t> expected{5, 6, 7, 8, 9, 4, 3, 2, 1};
  if (helper_order.size() == expected.size() + 1) expected.push_back(0);
  EXPECT_EQ(helper_order, expected);
}

TEST(Parallel, TheFirstExceptionReachesTheCaller) {
  ThreadCount setting(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(detail::parallel_for(100, 2,
                                    [&](int64_t t) {
                                      ++ran;
                                      if (t == 7) throw std::runtime_error("task 7");
                                    }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 1);
  // The pool is usable afterwards, with every task run.
  std::atomic<int> after{0};
  detail::parallel_for(100, 2, [&](int64_t) { ++after; });
  EXPECT_EQ(after.load(), 100);
}

TEST(Parallel, NestedCallsRunSerially) {
  ThreadCount setting(2);
  std::atomic<int> inner{0};
  detail::parallel_for(4, 2, [&](int64_t) {
    const std::thread::id outer = std::this_thread::get_id();
    detail::parallel_for(8, 2, [&](int64_t) {
      EXPECT_EQ(std::this_thread::get_id(), outer);
      ++inner;
    });
  });
  EXPECT_EQ(inner.load(), 32);
}

#if defined(__linux__)
// The caller and the helper run a job's two tasks on two CPUs at once. Linux wakes a thread on the
// waker's CPU or where it last ran, and on a VM that reports no shared cache it can leave the
// helper on the caller's CPU for good: in 5 of 6 processes on this project's 2-vCPU VM, before
// the pool moved such a helper off, every 2-thread job ran on one CPU. Each task waits (1 ms at
// most) until the other has started and records the CPU it is on while both run; one call in 20
// seeing two CPUs is enough, so a busy machine does not fail it. Run in a fresh process with
// spinning off: a spinning helper is runnable, and the load balancer may rescue it, which would
// hide a helper that the pool itself leaves where it is. Exits 0 if apart, 1 if never.
[[noreturn]] void run_two_tasks_side_by_side() {
  setenv("AFFINE_POOL_SPIN_US", "0", 1);
  set_num_threads(2);
  for (int call = 0; call < 20; ++call) {
    std::atomic<int> started{0};
    int cpu[2] = {-1, -1};
    detail::parallel_for(2, 2, [&](int64_t t) {
      ++started;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
      while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      }
      if (started.load() == 2) cpu[t] = sched_getcpu();
    });
    if (cpu[0] >= 0 && cpu[1] >= 0 && cpu[0] != cpu[1]) std::_Exit(0);
  }
  std::_Exit(1);
}

TEST(Parallel, TheHelperRunsBesideTheCallerNotOnItsCpu) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  if (CPU_COUNT(&allowed) < 2) GTEST_SKIP() << "this process may use one CPU only";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_two_tasks_side_by_side(), ::testing::ExitedWithCode(0), "")
      << "in 20 calls the two tasks never ran on two CPUs at once";
}
#endif

// The spin budget's override is read when the pool starts: a malformed or out-of-range value
// makes that start, and so the parallel call, throw an Error naming the variable and the value.
// A start that threw is retried by the next call, so one fresh process (the death-test machinery
// re-executes the binary, and no pool has started yet) tries every bad value, then a good one.
[[noreturn]] void start_the_pool_with_bad_spins() {
  set_num_threads(2);
  for (const char* bad : {"fast", "-1", "1000001", "12us", " "}) {
    setenv("AFFINE_POOL_SPIN_US", bad, 1);
    try {
      detail::parallel_for(4, 2, [](int64_t) {});
      std::_Exit(2);  // accepted
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find("AFFINE_POOL_SPIN_US") == std::string::npos ||
          what.find(std::string("'") + bad + "'") == std::string::npos)
        std::_Exit(1);
    }
  }
  setenv("AFFINE_POOL_SPIN_US", "0", 1);
  std::atomic<int> ran{0};
  detail::parallel_for(4, 2, [&](int64_t) { ++ran; });
  std::_Exit(ran.load() == 4 ? 0 : 3);
}

TEST(Parallel, AMalformedSpinSettingIsAnErrorNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(start_the_pool_with_bad_spins(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace affine
