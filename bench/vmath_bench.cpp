// Vectorised float32 transcendentals (tensor/src/vmath.hpp) against the std:: functions, per ISA,
// on arrays of 3,200 (the seed's batch-32 hidden layer: in L1), 100,000 (L2) and 10M (DRAM)
// elements, one thread. Counter "per_elem" is CPU time per element; compare rows of one run only
// (the machines are shared and absolute times drift).
//
//   vmath_bench --benchmark_filter=tanh
//
// The std rows call std::exp(float) etc. element by element, as affine's float32 ops did before
// (and sigmoid as 1/(1 + exp(-|x|)) with the select, the previous SigmoidF). ISAs this CPU lacks
// are not registered.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "vmath.hpp"

namespace {

using affine::detail::vmath::Table;
using affine::detail::vmath::UnaryF32;

struct Fn {
  const char* name;
  UnaryF32 Table::*member;
  float lo, hi;  // input range
  float (*std_fn)(float);
};

float std_sigmoid(float x) {
  const float e = std::exp(-std::abs(x));
  const float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

const Fn kFns[] = {
    {"exp", &Table::exp, -10, 10, [](float x) { return std::exp(x); }},
    {"log", &Table::log, 0.01f, 100, [](float x) { return std::log(x); }},
    {"log1p", &Table::log1p, -0.9f, 10, [](float x) { return std::log1p(x); }},
    {"tanh", &Table::tanh, -5, 5, [](float x) { return std::tanh(x); }},
    {"sigmoid", &Table::sigmoid, -10, 10, std_sigmoid},
};

std::vector<float> inputs(const Fn& fn, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  uint32_t s = 2024;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    v = fn.lo + (fn.hi - fn.lo) * (float(s >> 8) * 0x1p-24f);
  }
  return x;
}

void finish(benchmark::State& state, int64_t n) {
  state.SetItemsProcessed(state.iterations() * n);
  // Inverted rate: seconds per element, printed with an SI prefix (e.g. "0.31ns").
  state.counters["per_elem"] = benchmark::Counter(
      double(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void bm_std(benchmark::State& state, const Fn& fn) {
  const int64_t n = state.range(0);
  const auto x = inputs(fn, n);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    for (size_t i = 0; i < x.size(); ++i) y[i] = fn.std_fn(x[i]);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  finish(state, n);
}

void bm_affine(benchmark::State& state, const Fn& fn, const Table* table) {
  const int64_t n = state.range(0);
  const auto x = inputs(fn, n);
  std::vector<float> y(x.size());
  const UnaryF32 f = table->*fn.member;
  for (auto _ : state) {
    f(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  finish(state, n);
}

void register_all() {
  struct Isa {
    const char* name;
    const Table* table;
  };
  std::vector<Isa> isas{{"generic", &affine::detail::vmath::table_generic()}};
#if defined(__x86_64__) || defined(_M_X64)
  if (affine::detail::cpu_supports(affine::Isa::avx2)) {
    isas.push_back({"avx2", &affine::detail::vmath::table_avx2()});
  }
  if (affine::detail::cpu_supports(affine::Isa::avx512)) {
    isas.push_back({"avx512", &affine::detail::vmath::table_avx512()});
  }
#endif
  for (const Fn& fn : kFns) {
    auto sizes = [](benchmark::internal::Benchmark* b) {
      b->Arg(3200)->Arg(100000)->Arg(10000000)->Unit(benchmark::kMicrosecond);
    };
    sizes(benchmark::RegisterBenchmark((std::string(fn.name) + "/std").c_str(), bm_std, fn));
    for (const Isa& isa : isas) {
      sizes(benchmark::RegisterBenchmark((std::string(fn.name) + "/" + isa.name).c_str(), bm_affine,
                                         fn, isa.table));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
