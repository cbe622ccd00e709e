// Convolution and a small CNN's training step: affine against libtorch (when CMake finds
// Debian's libtorch-dev) in the same binary, one thread each.
//
//   taskset -c 1 build/bench/nn_bench --benchmark_counters_tabular=true
//
// Conv2dStep/<batch>/<in>/<out>/<size>: forward and backward (dx, dW, db) of a 3x3 convolution
// with padding 1 on [batch, in, size, size] input, the upstream gradient fixed. DigitsStep: one
// Adam step of examples/digits' CNN (Conv-ReLU-Pool-Conv-ReLU-Pool-Flatten-Linear, cross-entropy)
// on a batch of 32 8x8 images. Counters (affine): allocs_per_step = operator new calls per step
// after a warm-up step; sys_allocs_per_step = tensor buffers taken from the system per step.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "../examples/digits/model.hpp"
#include "../tests/alloc_counter.hpp"  // replaces global operator new in this binary
#include "affine/affine.hpp"
#include "peer_env.hpp"

#ifdef AFFINE_HAVE_LIBTORCH
#include <torch/torch.h>
#endif

namespace {

using namespace affine;

void set_alloc_counters(benchmark::State& state, uint64_t news, uint64_t sys_allocs) {
  const auto steps = static_cast<double>(state.iterations());
  state.counters["allocs_per_step"] = static_cast<double>(news) / steps;
  state.counters["sys_allocs_per_step"] = static_cast<double>(sys_allocs) / steps;
}

// 2 * N * Cout * H * W * Cin * 9 per pass, three passes (forward, dx, dW).
void set_flops(benchmark::State& state, int64_t n, int64_t cin, int64_t cout, int64_t hw) {
  const double flops = 3.0 * 2 * static_cast<double>(n * cout * hw * hw * cin * 9);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void Conv2dStep_affine(benchmark::State& state) {
  set_num_threads(1);
  const int64_t n = state.range(0), cin = state.range(1), cout = state.range(2),
                hw = state.range(3);
  Generator gen(0);
  nn::Conv2d conv(cin, cout, 3, {.padding = 1}, gen);
  const Tensor x = Tensor::randn({n, cin, hw, hw}, gen);
  const Tensor gy = Tensor::randn({n, cout, hw, hw}, gen);
  Tape tape;
  const auto step = [&] {
    tape.clear();
    conv.weight.zero_grad();  // Module::zero_grad() would build a parameter list each step
    conv.bias.zero_grad();
    const Var xv = tape.leaf(x, true);
    tape.backward(conv(xv), gy);
  };
  step();
  const uint64_t sys0 = memory_stats().system_allocations;
  const test::AllocCounter count;
  for (auto _ : state) step();
  set_alloc_counters(state, count.news(), memory_stats().system_allocations - sys0);
  set_flops(state, n, cin, cout, hw);
}

void DigitsStep_affine(benchmark::State& state) {
  set_num_threads(1);
  Generator gen(0);
  nn::Sequential model = digits::make_model(gen);
  nn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
  const Tensor x = Tensor::rand({32, 1, 8, 8}, gen);
  std::vector<int64_t> labels(32);
  for (auto& l : labels) l = static_cast<int64_t>(gen.below(10));
  const Tensor y = Tensor::from_vector(labels);
  Tape tape;
  const auto step = [&] {
    tape.clear();
    opt.zero_grad();
    const Var loss = cross_entropy(model(tape.leaf(x, false)), y);
    loss.backward();
    opt.step();
  };
  step();
  const uint64_t sys0 = memory_stats().system_allocations;
  const test::AllocCounter count;
  for (auto _ : state) step();
  set_alloc_counters(state, count.news(), memory_stats().system_allocations - sys0);
}

#ifdef AFFINE_HAVE_LIBTORCH
void Conv2dStep_libtorch(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const int64_t n = state.range(0), cin = state.range(1), cout = state.range(2),
                hw = state.range(3);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(cin, cout, 3).padding(1));
  const torch::Tensor x0 = torch::randn({n, cin, hw, hw});
  const torch::Tensor gy = torch::randn({n, cout, hw, hw});
  const auto step = [&] {
    conv->zero_grad();
    torch::Tensor x = x0.detach().requires_grad_(true);
    conv->forward(x).backward(gy);
  };
  step();
  for (auto _ : state) step();
  set_flops(state, n, cin, cout, hw);
}

void DigitsStep_libtorch(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::manual_seed(0);
  namespace tnn = torch::nn;
  tnn::Sequential model(tnn::Conv2d(tnn::Conv2dOptions(1, 16, 3).padding(1)), tnn::ReLU(),
                        tnn::MaxPool2d(2), tnn::Conv2d(tnn::Conv2dOptions(16, 32, 3).padding(1)),
                        tnn::ReLU(), tnn::MaxPool2d(2), tnn::Flatten(), tnn::Linear(128, 10));
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor x = torch::rand({32, 1, 8, 8});
  const torch::Tensor y = torch::randint(10, {32}, torch::kLong);
  const auto step = [&] {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    opt.step();
  };
  step();
  for (auto _ : state) step();
}
#endif

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->Args({32, 1, 16, 8})->Args({32, 32, 64, 28})->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(Conv2dStep_affine)->Apply(conv_shapes);
#ifdef AFFINE_HAVE_LIBTORCH
BENCHMARK(Conv2dStep_libtorch)->Apply(conv_shapes);
#endif
BENCHMARK(DigitsStep_affine)->Unit(benchmark::kMicrosecond);
#ifdef AFFINE_HAVE_LIBTORCH
BENCHMARK(DigitsStep_libtorch)->Unit(benchmark::kMicrosecond);
#endif

int main(int argc, char** argv) {
  affine::bench::reexec_with_peer_env(argv);  // libtorch's peer rows: one thread, a kept heap
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
