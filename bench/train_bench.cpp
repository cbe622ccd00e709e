// Training speed of the seed's network: 2-100-2-1 tanh/tanh/sigmoid, BCE on probabilities, plain
// SGD (lr 0.1, no momentum), float32, 1 thread. bench/peers/moons_torch.py runs the same network,
// data, batch and optimizer in PyTorch; bench/train_report runs both and prints the ratios.
// When CMake finds Debian's libtorch-dev, BM_TrainStep_libtorch runs the same step with its C++
// frontend (1 thread, the same batches, PyTorch's default init) in this binary. The binary
// re-executes itself with one BLAS thread and a heap glibc keeps mapped (bench/peer_env.hpp):
// torch::set_num_threads does not reach the OpenBLAS that Debian's libtorch calls, and glibc's
// trimming made libtorch's step up to 6x slower from one process to the next on a VM.
//
//   build/bench/train_bench --benchmark_counters_tabular=true
//
// BM_TrainStep/batch:N  one optimizer step on a fixed batch of N make_moons points (noise 0.1):
//                       zero_grad, forward, BCE, backward, SGD step, tape.clear().
// BM_TrainStepThreads/batch:N/threads:T  BM_TrainStep on T threads, real time (train_report
//                       prints the 2-thread speed-up).
// BM_TrainStep_libtorch/batch:N  the same step in libtorch's C++ frontend.
// BM_TrainRun           150 epochs over 1,000 make_moons points in shuffled batches of 32
//                       (DataLoader, 32 batches an epoch, 4,800 steps): the example's loop.
//
// Counters: steps_per_s; allocs_per_step = global operator new calls per step, counted after a
// first (warm-up) step, in the timed loop; sys_allocs_per_step = tensor buffers the caching
// allocator had to take from the system per step in the same loop (0 once its cache is warm).
//
// --peak_rss_batch=N (not a Google Benchmark flag): instead of benchmarking, builds the network
// and a batch of N points, runs 5 steps and exits, so a parent process can read this process's
// whole peak RSS (bench/train_report compares it with PyTorch's at N = 100,000).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "peer_env.hpp"
#ifdef AFFINE_HAVE_LIBTORCH
#include <torch/torch.h>
#endif
// Replaces the global operator new of this binary to count calls (one TU per executable).
#include "../tests/alloc_counter.hpp"

namespace affine {
namespace {

constexpr double kLr = 0.1;
constexpr double kNoise = 0.1;

// The seed network, PyTorch's default init drawn from one generator.
struct SeedModel {
  Generator gen;
  nn::Sequential net;
  nn::optim::SGD opt;
  nn::BCELoss loss_fn;
  Tape tape;

  explicit SeedModel(uint64_t seed)
      : gen(seed),
        net{nn::Linear(2, 100, gen), nn::Tanh(),   nn::Linear(100, 2, gen), nn::Tanh(),
            nn::Linear(2, 1, gen),   nn::Sigmoid()},
        opt(net.parameters(), {.lr = kLr}) {}

  // One optimizer step as a user writes it; returns the loss of the step.
  float step(const Tensor& x, const Tensor& y) {
    opt.zero_grad();
    const Var p = net(tape.leaf(x, /*requires_grad=*/false));
    const Var loss = loss_fn(p, Var(y));
    loss.backward();
    opt.step();
    const float l = loss.value().data<float>()[0];
    tape.clear();
    return l;
  }
};

void set_alloc_counters(benchmark::State& state, uint64_t news, uint64_t sys_allocs) {
  const auto steps = static_cast<double>(state.iterations());
  state.counters["allocs_per_step"] = static_cast<double>(news) / steps;
  state.counters["sys_allocs_per_step"] = static_cast<double>(sys_allocs) / steps;
  state.counters["steps_per_s"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

// The step on `threads` threads, timed by state.
void train_step_loop(benchmark::State& state, int64_t batch, int threads) {
  set_num_threads(threads);
  SeedModel m(0);
  const nn::data::Dataset d = nn::data::make_moons(batch, kNoise, 1);
  float loss = m.step(d.x, d.y);  // the first step fills the tape's and allocator's caches
  const uint64_t sys0 = memory_stats().system_allocations;
  const test::AllocCounter count;
  for (auto _ : state) {
    loss = m.step(d.x, d.y);
    benchmark::DoNotOptimize(loss);
  }
  set_alloc_counters(state, count.news(), memory_stats().system_allocations - sys0);
  state.counters["final_loss"] = loss;
}
void BM_TrainStep(benchmark::State& state) { train_step_loop(state, state.range(0), 1); }
void BM_TrainStepThreads(benchmark::State& state) {
  train_step_loop(state, state.range(0), static_cast<int>(state.range(1)));
  set_num_threads(1);
}
BENCHMARK(BM_TrainStep)
    ->ArgName("batch")
    ->Arg(32)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
// The same step on 1 and 2 worker threads (affine::set_num_threads): rows split into fixed
// blocks, per-block dW/db partial sums added in block order, so the results are those of 1
// thread. Real time is the measure here (CPU time counts only the calling thread).
BENCHMARK(BM_TrainStepThreads)
    ->ArgNames({"batch", "threads"})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Args({100000, 1})
    ->Args({100000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

#ifdef AFFINE_HAVE_LIBTORCH
// The seed network's step in libtorch's C++ frontend, on the same make_moons batch.
void BM_TrainStep_libtorch(benchmark::State& state) {
  const int64_t batch = state.range(0);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  namespace tnn = torch::nn;
  tnn::Sequential net(tnn::Linear(2, 100), tnn::Tanh(), tnn::Linear(100, 2), tnn::Tanh(),
                      tnn::Linear(2, 1), tnn::Sigmoid());
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(kLr));
  const nn::data::Dataset d = nn::data::make_moons(batch, kNoise, 1);
  const auto to_torch = [](const Tensor& t) {
    const Tensor c = t.contiguous();
    return torch::from_blob(const_cast<float*>(c.data<float>()), c.shape().to_vector()).clone();
  };
  const torch::Tensor x = to_torch(d.x), y = to_torch(d.y);
  const auto step = [&] {
    opt.zero_grad();
    const torch::Tensor loss = torch::binary_cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<float>();
  };
  float loss = step();
  for (auto _ : state) {
    loss = step();
    benchmark::DoNotOptimize(loss);
  }
  state.counters["steps_per_s"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["final_loss"] = loss;
}
BENCHMARK(BM_TrainStep_libtorch)
    ->ArgName("batch")
    ->Arg(32)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
#endif

void BM_TrainRun(benchmark::State& state) {
  constexpr int kEpochs = 150;
  set_num_threads(1);
  const nn::data::Dataset d = nn::data::make_moons(1000, kNoise, 1);
  int64_t steps = 0;
  uint64_t news = 0;
  uint64_t sys_allocs = 0;
  float loss = 0;
  for (auto _ : state) {
    state.PauseTiming();
    SeedModel m(0);
    nn::data::DataLoader loader(d.x, d.y, {.batch_size = 32, .shuffle = true, .seed = 2});
    state.ResumeTiming();
    const uint64_t sys0 = memory_stats().system_allocations;
    const test::AllocCounter count;
    for (int e = 0; e < kEpochs; ++e) {
      for (auto [xb, yb] : loader) {
        loss = m.step(xb, yb);
        ++steps;
      }
    }
    news += count.news();
    sys_allocs += memory_stats().system_allocations - sys0;
    benchmark::DoNotOptimize(loss);
  }
  const auto n = static_cast<double>(steps);
  state.counters["steps_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  // Seconds per step (printed with an SI prefix: "9.8u" is 9.8 us).
  state.counters["time_per_step"] =
      benchmark::Counter(n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Includes the DataLoader's batch copies and its index vectors (not part of the step).
  state.counters["allocs_per_step"] = static_cast<double>(news) / n;
  state.counters["sys_allocs_per_step"] = static_cast<double>(sys_allocs) / n;
  state.counters["final_loss"] = loss;
}
BENCHMARK(BM_TrainRun)->Unit(benchmark::kMillisecond)->Iterations(3);

// Builds the model and data and takes a few steps; the caller measures the process's peak RSS.
int peak_rss_run(int64_t batch) {
  set_num_threads(1);
  SeedModel m(0);
  const nn::data::Dataset d = nn::data::make_moons(batch, kNoise, 1);
  float loss = 0;
  for (int i = 0; i < 5; ++i) loss = m.step(d.x, d.y);
  std::printf("{\"name\": \"peak_rss_run/batch:%lld\", \"loss\": %.6f}\n",
              static_cast<long long>(batch), static_cast<double>(loss));
  return 0;
}

}  // namespace
}  // namespace affine

int main(int argc, char** argv) {
  affine::bench::reexec_with_peer_env(argv);  // libtorch's rows: one thread, a kept heap
  const char* flag = "--peak_rss_batch=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) {
      return affine::peak_rss_run(std::strtoll(argv[i] + std::strlen(flag), nullptr, 10));
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
