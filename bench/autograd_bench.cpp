// Autograd overhead: what recording a node and running its VJP costs on tiny tensors (where the
// arithmetic is negligible, so the time is the tape's), and one forward + backward step of the
// seed's network 2-100-2-1 (linear, tanh, linear, tanh, linear, sigmoid, BCE).
//
//   build/bench/autograd_bench --benchmark_counters_tabular=true
//
// BM_Op/<op>: a chain of kChain ops of one kind on a [4] float32 value, then sum and backward;
// time_per_op is the whole iteration's CPU time divided by kChain (record + backward per op),
// in seconds with an SI prefix ("350n" = 350 ns).
// BM_OpNoTape/<op>: the same chain on constants (no tape): the bare tensor-op cost, for contrast.
#include <benchmark/benchmark.h>

#include <vector>

#include "affine/affine.hpp"

namespace affine {
namespace {

constexpr int kChain = 64;

enum class OpKind { add, mul, mul_scalar, tanh, sigmoid, relu, matmul, linear, softmax };

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::add:
      return "add";
    case OpKind::mul:
      return "mul";
    case OpKind::mul_scalar:
      return "mul_scalar";
    case OpKind::tanh:
      return "tanh";
    case OpKind::sigmoid:
      return "sigmoid";
    case OpKind::relu:
      return "relu";
    case OpKind::matmul:
      return "matmul_4x4";
    case OpKind::linear:
      return "linear_4x4";
    case OpKind::softmax:
      return "softmax";
  }
  return "?";
}

Var apply(OpKind k, const Var& y, const Var& other, const Var& w, const Var& b) {
  switch (k) {
    case OpKind::add:
      return add(y, other);
    case OpKind::mul:
      return mul(y, other);
    case OpKind::mul_scalar:
      return mul(y, 0.999);
    case OpKind::tanh:
      return tanh(y);
    case OpKind::sigmoid:
      return sigmoid(y);
    case OpKind::relu:
      return relu(y);
    case OpKind::matmul:
      return matmul(y, w);
    case OpKind::linear:
      return linear(y, w, b);
    case OpKind::softmax:
      return softmax(y);
  }
  return y;
}

bool square(OpKind k) { return k == OpKind::matmul || k == OpKind::linear; }

void BM_Op(benchmark::State& state) {
  const auto k = static_cast<OpKind>(state.range(0));
  set_num_threads(1);
  state.SetLabel(op_name(k));
  Generator gen(1);
  const Shape s = square(k) ? Shape{4, 4} : Shape{4};
  const Tensor x0 = Tensor::uniform(s, -0.5, 0.5, gen);
  const Tensor o0 = Tensor::uniform(s, 0.5, 1.0, gen);
  Parameter w(Tensor::uniform({4, 4}, -0.5, 0.5, gen));
  Parameter b(Tensor::uniform({4}, -0.5, 0.5, gen));
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    Var y = tape.leaf(x0);
    const Var other = tape.leaf(o0);
    const Var wv = tape.param(w);
    const Var bv = tape.param(b);
    for (int i = 0; i < kChain; ++i) y = apply(k, y, other, wv, bv);
    sum(y).backward();
    benchmark::DoNotOptimize(w.grad.data<float>());
  }
  // Seconds per op (printed with an SI prefix: "350n" is 350 ns).
  state.counters["time_per_op"] = benchmark::Counter(
      kChain, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_OpNoTape(benchmark::State& state) {
  const auto k = static_cast<OpKind>(state.range(0));
  set_num_threads(1);
  state.SetLabel(op_name(k));
  Generator gen(1);
  const Shape s = square(k) ? Shape{4, 4} : Shape{4};
  const Var x0(Tensor::uniform(s, -0.5, 0.5, gen));
  const Var o0(Tensor::uniform(s, 0.5, 1.0, gen));
  const Var w(Tensor::uniform({4, 4}, -0.5, 0.5, gen));
  const Var b(Tensor::uniform({4}, -0.5, 0.5, gen));
  for (auto _ : state) {
    Var y = x0;
    for (int i = 0; i < kChain; ++i) y = apply(k, y, o0, w, b);
    benchmark::DoNotOptimize(y.value().data<float>());
  }
  // Seconds per op (printed with an SI prefix: "350n" is 350 ns).
  state.counters["time_per_op"] = benchmark::Counter(
      kChain, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void op_args(benchmark::internal::Benchmark* b) {
  for (int k = 0; k <= static_cast<int>(OpKind::softmax); ++k) b->Arg(k);
}
BENCHMARK(BM_Op)->Apply(op_args);
BENCHMARK(BM_OpNoTape)->Apply(op_args);

// The seed network, PyTorch-default-like init, float32.
struct SeedNet {
  Parameter w1, b1, w2, b2, w3, b3;
  explicit SeedNet(Generator& g)
      : w1(Tensor::uniform({100, 2}, -0.7, 0.7, g)),
        b1(Tensor::uniform({100}, -0.7, 0.7, g)),
        w2(Tensor::uniform({2, 100}, -0.1, 0.1, g)),
        b2(Tensor::uniform({2}, -0.1, 0.1, g)),
        w3(Tensor::uniform({1, 2}, -0.7, 0.7, g)),
        b3(Tensor::uniform({1}, -0.7, 0.7, g)) {}
  Var loss(Tape& t, const Tensor& x, const Tensor& y) {
    Var h = tanh(linear(t.leaf(x, false), t.param(w1), t.param(b1)));
    h = tanh(linear(h, t.param(w2), t.param(b2)));
    const Var p = sigmoid(linear(h, t.param(w3), t.param(b3)));
    return binary_cross_entropy(p, y);
  }
};

// Args: batch, threads (affine::set_num_threads).
void BM_SeedStep(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int threads_before = num_threads();
  set_num_threads(static_cast<int>(state.range(1)));
  Generator gen(42);
  SeedNet net(gen);
  const Tensor x = Tensor::uniform({batch, 2}, -1.5, 2.5, gen);
  const Tensor y = gt(Tensor::uniform({batch, 1}, 0, 1, gen), 0.5);
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    net.loss(tape, x, y).backward();
    benchmark::DoNotOptimize(net.w1.grad.data<float>());
  }
  state.counters["steps_per_s"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tape_nodes"] = static_cast<double>(tape.size());
  set_num_threads(threads_before);
}
BENCHMARK(BM_SeedStep)
    ->ArgNames({"batch", "threads"})
    ->Args({32, 1})
    ->Args({1000, 1})
    ->Args({32, 2})
    ->Args({1000, 2})
    ->Unit(benchmark::kMicrosecond);

// The same network forward only, on constants (inference: no tape), 1 thread, for contrast.
void BM_SeedForwardNoTape(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int threads_before = num_threads();
  set_num_threads(1);
  Generator gen(42);
  SeedNet net(gen);
  const Tensor x = Tensor::uniform({batch, 2}, -1.5, 2.5, gen);
  for (auto _ : state) {
    Var h = tanh(linear(x, net.w1.value, net.b1.value));
    h = tanh(linear(h, net.w2.value, net.b2.value));
    const Var p = sigmoid(linear(h, net.w3.value, net.b3.value));
    benchmark::DoNotOptimize(p.value().data<float>());
  }
  set_num_threads(threads_before);
}
BENCHMARK(BM_SeedForwardNoTape)->Arg(32)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace affine

BENCHMARK_MAIN();
