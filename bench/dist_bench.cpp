// Data-parallel training steps over MPI: run under mpirun, e.g.
//   mpirun -np 2 build/bench/dist_bench --benchmark_format=json
// (bench/dist_report runs 1 and 2 processes and the PyTorch DDP peer side by side).
//
// Two models at a fixed GLOBAL batch, split evenly over the ranks, one thread per process:
//   seed: the 2-100-2-1 tanh/tanh/sigmoid network, BCE, batch 100,000 (synthetic moons-like x);
//   mlp:  784-1024-1024-10 ReLU, cross-entropy, batch 256 (random x, random labels).
// For each, three benchmarks show where the time goes:
//   <model>/step       one DataParallel step: forward, backward with bucketed allreduce, SGD step;
//   <model>/compute    the same step inside no_sync (no communication): each rank's compute share;
//   <model>/allreduce  all_reduce (mean) of one flat tensor as large as all the gradients.
// Every rank runs the same fixed number of iterations (collectives need the same calls on every
// rank; Google Benchmark's adaptive count could differ per rank). Times are wall clock (real time)
// of rank 0; with no_sync, ranks do not wait for each other.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/dist/dist.hpp"

namespace {

using namespace affine;

const dist::World* g_world = nullptr;

struct Model {
  std::unique_ptr<nn::Sequential> net;
  Tensor x, y;  // this rank's shard of the global batch
  bool classes = false;
};

Model make_model(const std::string& which) {
  const dist::World& w = *g_world;
  Generator gen(42);
  Model m;
  m.net = std::make_unique<nn::Sequential>();
  if (which == "seed") {
    const int64_t local = 100'000 / w.size();
    m.net->push_back(nn::Linear(2, 100, gen));
    m.net->push_back(nn::Tanh());
    m.net->push_back(nn::Linear(100, 2, gen));
    m.net->push_back(nn::Tanh());
    m.net->push_back(nn::Linear(2, 1, gen));
    m.net->push_back(nn::Sigmoid());
    Generator data(7 + static_cast<uint64_t>(w.rank()));
    m.x = Tensor::randn({local, 2}, data);
    m.y = Tensor::zeros({local, 1});
    for (int64_t i = 0; i < local; i += 2) m.y.set({i, 0}, 1.0);
  } else {
    const int64_t local = 256 / w.size();
    m.net->push_back(nn::Linear(784, 1024, gen));
    m.net->push_back(nn::ReLU());
    m.net->push_back(nn::Linear(1024, 1024, gen));
    m.net->push_back(nn::ReLU());
    m.net->push_back(nn::Linear(1024, 10, gen));
    Generator data(7 + static_cast<uint64_t>(w.rank()));
    m.x = Tensor::randn({local, 784}, data);
    std::vector<int64_t> labels(static_cast<size_t>(local));
    for (auto& l : labels) l = static_cast<int64_t>(data.below(10));
    m.y = Tensor::from_vector(labels);
    m.classes = true;
  }
  return m;
}

Var loss_of(const Model& m, const Var& out) {
  return m.classes ? cross_entropy(out, m.y) : binary_cross_entropy(out, Var(m.y));
}

void run_steps(benchmark::State& state, const std::string& which, bool sync) {
  Model m = make_model(which);
  dist::DataParallel ddp(*g_world, *m.net);
  nn::optim::SGD opt(m.net->parameters(), {.lr = 0.01});
  Tape tape;
  const auto one_step = [&] {
    tape.clear();
    opt.zero_grad();
    loss_of(m, ddp(tape.leaf(m.x, false))).backward();
    opt.step();
  };
  one_step();  // warm-up: buffers, tape capacity
  g_world->barrier();
  for (auto _ : state) {
    if (sync) {
      one_step();
    } else {
      auto guard = ddp.no_sync();
      one_step();
    }
  }
  g_world->barrier();
  state.counters["steps_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ranks"] = g_world->size();
  state.counters["params"] = static_cast<double>(m.net->parameter_count());
}

void run_allreduce(benchmark::State& state, const std::string& which) {
  const Model m = make_model(which);
  Tensor flat = Tensor::ones({m.net->parameter_count()});
  g_world->barrier();
  for (auto _ : state) dist::all_reduce(*g_world, flat, dist::ReduceOp::mean);
  state.counters["bytes"] = static_cast<double>(flat.numel()) * 4;
  state.counters["ranks"] = g_world->size();
}

void register_all() {
  for (const std::string model : {"seed", "mlp"}) {
    const int iters = model == "seed" ? 30 : 20;
    benchmark::RegisterBenchmark((model + "/step").c_str(),
                                 [model](benchmark::State& s) { run_steps(s, model, true); })
        ->Iterations(iters)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((model + "/compute").c_str(),
                                 [model](benchmark::State& s) { run_steps(s, model, false); })
        ->Iterations(iters)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((model + "/allreduce").c_str(),
                                 [model](benchmark::State& s) { run_allreduce(s, model); })
        ->Iterations(iters * 5)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

// Ranks other than 0 run every benchmark silently.
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  dist::World world = dist::init(argc, argv);
  g_world = &world;
  set_num_threads(1);  // one thread per process: the processes are the parallelism
  benchmark::Initialize(&argc, argv);
  register_all();
  if (world.rank() == 0) {
    benchmark::AddCustomContext("ranks", std::to_string(world.size()));
    benchmark::RunSpecifiedBenchmarks();
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  return 0;
}
