// GEMM throughput: affine against OpenBLAS, Eigen and a naive loop, side by side in one binary.
//
// Names: <sgemm|dgemm>/<impl>/<M>x<K>x<N>/<nn|nt|tn|tt>/threads:<T>, impl in affine, openblas,
// eigen, naive; C[M x N] = op(A)[M x K] * op(B)[K x N], row-major, beta = 0. Each reports GFLOPS
// (2*M*N*K per iteration over wall-clock time). Select with --benchmark_filter, e.g.
//   gemm_bench --benchmark_filter='sgemm/.*/1024x1024x1024/nn/threads:1'
// bench/gemm_report runs this and prints ratios. Notes:
//  - Eigen is built without OpenMP here, so it only runs with threads:1.
//  - naive (the i-j-p dot-product loop) only runs for M*N*K <= 256^3: it is slow.
//  - OPENBLAS_CORETYPE=Haswell and AFFINE_ISA=avx2 compare the AVX2 kernels.
//  - affine_packed (1 thread, cubes 128 to 511) forces the packed path, so affine against it shows
//    whether the small-problem path's cache-derived limit (small.cpp) sits at the crossover on
//    this CPU: affine takes the small path up to that limit, the packed one above.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"
#include "gemm/kernel.hpp"

#ifdef AFFINE_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef AFFINE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace {

struct Shape {
  int64_t m, k, n;
  const char* trans;  // "nn", "nt", "tn", "tt"
};

// 64-byte aligned buffer filled with values in [-1, 1].
template <class T>
struct Matrix {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> p;
  explicit Matrix(int64_t count, uint32_t seed) {
    const size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
    p.reset(static_cast<T*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes)));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<T> uni(T(-1), T(1));
    for (int64_t i = 0; i < count; ++i) p.get()[i] = uni(rng);
  }
  T* get() const { return p.get(); }
};

// Operands as stored (row-major): A is M x K or, transposed, K x M; B likewise.
template <class T>
struct Operands {
  Shape s;
  bool ta, tb;
  int64_t lda, ldb, ldc;
  Matrix<T> a, b, c;
  explicit Operands(const Shape& shape)
      : s(shape),
        ta(shape.trans[0] == 't'),
        tb(shape.trans[1] == 't'),
        lda(ta ? shape.m : shape.k),
        ldb(tb ? shape.k : shape.n),
        ldc(shape.n),
        a(shape.m * shape.k, 1),
        b(shape.k * shape.n, 2),
        c(shape.m * shape.n, 3) {}
};

template <class T>
void run_affine(Operands<T>& o) {
  affine::gemm(o.ta ? affine::Trans::yes : affine::Trans::no,
               o.tb ? affine::Trans::yes : affine::Trans::no, o.s.m, o.s.n, o.s.k, T(1), o.a.get(),
               o.lda, o.b.get(), o.ldb, T(0), o.c.get(), o.ldc);
}

template <class T>
void run_affine_packed(Operands<T>& o) {
  affine::detail::gemm::gemm_packed<T>(affine::detail::gemm::gemm_blocking<T>(), o.s.m, o.s.n,
                                       o.s.k, T(1), o.a.get(), o.ta ? 1 : o.lda, o.ta ? o.lda : 1,
                                       o.b.get(), o.tb ? 1 : o.ldb, o.tb ? o.ldb : 1, T(0),
                                       o.c.get(), o.ldc, 1);
}

template <class T>
void run_naive(Operands<T>& o) {
  const T* a = o.a.get();
  const T* b = o.b.get();
  T* c = o.c.get();
  for (int64_t i = 0; i < o.s.m; ++i) {
    for (int64_t j = 0; j < o.s.n; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < o.s.k; ++p) {
        const T x = o.ta ? a[p * o.lda + i] : a[i * o.lda + p];
        const T y = o.tb ? b[j * o.ldb + p] : b[p * o.ldb + j];
        sum += x * y;
      }
      c[i * o.ldc + j] = sum;
    }
  }
}

#ifdef AFFINE_HAVE_OPENBLAS
void run_openblas(Operands<float>& o) {
  cblas_sgemm(CblasRowMajor, o.ta ? CblasTrans : CblasNoTrans, o.tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(o.s.m), static_cast<int>(o.s.n), static_cast<int>(o.s.k), 1.0f,
              o.a.get(), static_cast<int>(o.lda), o.b.get(), static_cast<int>(o.ldb), 0.0f,
              o.c.get(), static_cast<int>(o.ldc));
}
void run_openblas(Operands<double>& o) {
  cblas_dgemm(CblasRowMajor, o.ta ? CblasTrans : CblasNoTrans, o.tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(o.s.m), static_cast<int>(o.s.n), static_cast<int>(o.s.k), 1.0,
              o.a.get(), static_cast<int>(o.lda), o.b.get(), static_cast<int>(o.ldb), 0.0,
              o.c.get(), static_cast<int>(o.ldc));
}
#endif

#ifdef AFFINE_HAVE_EIGEN
template <class T>
void run_eigen(Operands<T>& o) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Map = Eigen::Map<const Mat, Eigen::Aligned64, Eigen::OuterStride<>>;
  using MapOut = Eigen::Map<Mat, Eigen::Aligned64, Eigen::OuterStride<>>;
  const Map a(o.a.get(), o.ta ? o.s.k : o.s.m, o.ta ? o.s.m : o.s.k, Eigen::OuterStride<>(o.lda));
  const Map b(o.b.get(), o.tb ? o.s.n : o.s.k, o.tb ? o.s.k : o.s.n, Eigen::OuterStride<>(o.ldb));
  MapOut c(o.c.get(), o.s.m, o.s.n, Eigen::OuterStride<>(o.ldc));
  if (o.ta && o.tb) {
    c.noalias() = a.transpose() * b.transpose();
  } else if (o.ta) {
    c.noalias() = a.transpose() * b;
  } else if (o.tb) {
    c.noalias() = a * b.transpose();
  } else {
    c.noalias() = a * b;
  }
}
#endif

enum class Impl { affine, affine_packed, openblas, eigen, naive };

template <class T>
void bench(benchmark::State& state, Shape shape, Impl impl, int threads) {
  Operands<T> o(shape);
  affine::set_num_threads(threads);
#ifdef AFFINE_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
#ifdef AFFINE_HAVE_EIGEN
  Eigen::setNbThreads(threads);
#endif
  auto once = [&] {
    switch (impl) {
      case Impl::affine:
        run_affine(o);
        break;
      case Impl::affine_packed:
        run_affine_packed(o);
        break;
      case Impl::naive:
        run_naive(o);
        break;
      case Impl::openblas:
#ifdef AFFINE_HAVE_OPENBLAS
        run_openblas(o);
#endif
        break;
      case Impl::eigen:
#ifdef AFFINE_HAVE_EIGEN
        run_eigen(o);
#endif
        break;
    }
  };
  once();  // warm caches, pools and packing buffers outside the timed loop
  for (auto _ : state) {
    once();
    benchmark::DoNotOptimize(o.c.get());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * double(shape.m) * double(shape.n) * double(shape.k);
  state.counters["GFLOPS"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void register_shape(const char* prefix, const Shape& s) {
  struct Entry {
    Impl impl;
    const char* name;
    bool available;
  };
  const Entry impls[] = {
      {Impl::affine, "affine", true},     {Impl::affine_packed, "affine_packed", true},
#ifdef AFFINE_HAVE_OPENBLAS
      {Impl::openblas, "openblas", true},
#else
      {Impl::openblas, "openblas", false},
#endif
#ifdef AFFINE_HAVE_EIGEN
      {Impl::eigen, "eigen", true},
#else
      {Impl::eigen, "eigen", false},
#endif
      {Impl::naive, "naive", true},
  };
  const bool small_enough_for_naive = s.m * s.n * s.k <= int64_t{256} * 256 * 256;
  for (int threads : {1, 2}) {
    for (const Entry& e : impls) {
      if (!e.available) continue;
      if (e.impl == Impl::naive && (!small_enough_for_naive || threads != 1)) continue;
      if (e.impl == Impl::eigen && threads != 1) continue;
      const bool crossover_range = s.m == s.n && s.n == s.k && s.m >= 128 && s.m < 512;
      if (e.impl == Impl::affine_packed && (!crossover_range || threads != 1)) continue;
      const std::string name = std::string(prefix) + "/" + e.name + "/" + std::to_string(s.m) +
                               "x" + std::to_string(s.k) + "x" + std::to_string(s.n) + "/" +
                               s.trans + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(
          name.c_str(),
          [s, impl = e.impl, threads](benchmark::State& st) { bench<T>(st, s, impl, threads); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

// The ceiling a packed GEMM can reach on this CPU: the active micro-kernel alone, on an A and a
// B micro-panel that stay in L1 (kc = 128) and one C tile, so no cache miss or packing is
// counted. gemm_report divides the large rows by it ("% of kernel peak").
template <class T>
void kernel_peak(benchmark::State& state) {
  namespace g = affine::detail::gemm;
  const g::Kernels<T>& k = g::active_kernels_for<T>();
  constexpr int64_t kc = 128;
  std::vector<T> a(static_cast<size_t>(k.mr * kc), T(0.5)),
      b(static_cast<size_t>(kc * k.nr), T(0.25));
  std::vector<T> c(static_cast<size_t>(k.mr * k.nr), T(0));
  for (auto _ : state) {
    for (int rep = 0; rep < 64; ++rep)
      k.micro(kc, T(1), a.data(), b.data(), T(0.5), c.data(), k.nr, 1, k.mr, k.nr);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(k.mr * k.nr * kc) * 64;
  state.counters["GFLOPS"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("mr " + std::to_string(k.mr) + " nr " + std::to_string(k.nr));
}

void register_all() {
  const char* all_trans[] = {"nn", "nt", "tn", "tt"};
  for (int64_t n : {16, 32, 64, 128, 256, 512, 1024, 2048, 127, 255, 511, 1023})
    for (const char* t : all_trans) register_shape<float>("sgemm", {n, n, n, t});
  // Around the small path's limit: cubes of side L2-dependent 160 to 360 (small.cpp).
  for (int64_t n : {192, 224, 320, 352})
    for (const char* t : {"nn", "nt"}) register_shape<float>("sgemm", {n, n, n, t});
  // The seed network's layers (M, K, N) at batch 1000 and 32: forward X*W^T, backward dY*W and
  // dY^T*X.
  for (int64_t rows : {1000, 32}) {
    register_shape<float>("sgemm", {rows, 2, 100, "nt"});
    register_shape<float>("sgemm", {rows, 100, 2, "nt"});
    register_shape<float>("sgemm", {rows, 2, 1, "nt"});
    register_shape<float>("sgemm", {rows, 2, 100, "nn"});
    register_shape<float>("sgemm", {2, rows, 100, "tn"});
    register_shape<float>("sgemm", {100, rows, 2, "tn"});
  }
  register_shape<float>("sgemm", {256, 784, 128, "nn"});
  benchmark::RegisterBenchmark("kernel_peak/sgemm", kernel_peak<float>);
  benchmark::RegisterBenchmark("kernel_peak/dgemm", kernel_peak<double>);
  register_shape<float>("sgemm", {4096, 4096, 64, "nn"});
  for (int64_t n : {64, 256, 1024})
    for (const char* t : all_trans) register_shape<double>("dgemm", {n, n, n, t});
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
